# Shared by the shell tests.  Source it after `set -u`:
#
#   . "$(dirname "$0")/../lib.sh"
#   t_init NAME     # $d: a scratch directory /tmp/isched-NAME-XXXXXX, removed on exit
#   expect "what must hold" 'shell condition'
#   t_done          # exits 1 if any expectation failed, else 0
#
# A failed expectation prints "FAIL: what" and the first lines of "$d/err"
# (where the tests keep the standard error of the command they checked).
# A test that needs more clean-up at exit defines t_on_exit before t_init.

fail=0
d=

t_init() { # NAME
        d=$(mktemp -d "/tmp/isched-$1-XXXXXX") || { echo "FAIL: cannot create a scratch directory"; exit 1; }
        trap t_cleanup EXIT
}

t_cleanup() {
        if declare -F t_on_exit >/dev/null; then t_on_exit; fi
        [ -n "$d" ] && rm -rf "$d"
}

ok() { echo "ok: $1"; }

bad() {
        echo "FAIL: $1"
        sed 's/^/    | /' "$d/err" 2>/dev/null | head -5
        fail=1
}

expect() { # description condition
        if eval "$2"; then ok "$1"; else bad "$1"; fi
}

t_done() {
        exit $fail
}

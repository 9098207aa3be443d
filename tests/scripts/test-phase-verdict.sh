#!/bin/bash
# scripts/phase-verdict judges a scripts/test phase from meson's JSON log:
# a skipped test, a failed one, an empty log or an unreadable one must each
# fail the phase, so that CI can never pass with a phase that did not run
# (issue 13: the real-Xen phases were once skipped silently).
set -u
V=${1:?usage: test-phase-verdict.sh SCRIPTS/phase-verdict}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
expect() { # description expected-exit expected-output file
        local out rc
        out=$("$V" "$4" 2>/dev/null); rc=$?
        if [ "$rc" = "$2" ] && [ "$out" = "$3" ]; then echo "ok: $1"
        else echo "FAIL: $1: exit $rc (want $2), output '$out' (want '$3')"; fail=1; fi
}
line() { printf '{"name": "%s", "result": "%s", "duration": 1.0}\n' "$1" "$2"; }
{ line a OK; line b EXPECTEDFAIL; } > "$T/pass.json"
expect "all passed" 0 "2 0 0 -" "$T/pass.json"
{ line a OK; line xen-qemu SKIP; } > "$T/skip.json"
expect "a skipped test fails the phase" 1 "1 0 1 xen-qemu" "$T/skip.json"
{ line a OK; line b FAIL; line c TIMEOUT; } > "$T/fail.json"
expect "failures and timeouts fail the phase" 1 "1 2 0 -" "$T/fail.json"
: > "$T/empty.json"
expect "a phase in which no test ran fails" 1 "0 0 0 -" "$T/empty.json"
echo 'not json' > "$T/bad.json"
expect "an unreadable log is an error" 2 "" "$T/bad.json"
expect "a missing log is an error" 2 "" "$T/missing.json"
exit $fail

#!/bin/bash
# isched learn as issue 14 found it wanting: it streams its input in
# constant memory, accepts the trailing empty line numpy and pandas accept,
# applies one rule to every reward column, checks its outputs before the
# first row and exits non-zero when they cannot be written, and prints
# what is wrong in a file without echoing control characters.  Needs $ISCHED.
set -u
I=${ISCHED:?set ISCHED to the isched binary}
. "$(dirname "$0")/../lib.sh"
t_init learn
learn() { "$I" learn --policy linucb "$@" >"$d/out" 2>"$d/err"; rc=$?; }

printf 'x0,x1,r0,r1,r2\n1,0.5,0.1,0.2,0.3\n1,0.2,0.4,0.1,0.2\n1,0.9,0.3,0.3,0.1\n' >"$d/good.csv"

# ---- constant memory: the peak resident size does not grow with the rows ----
# Rows are generated on the fly; the same command reads 100 000 and 1 000 000
# of them, from a pipe and from a file.  Before, the whole input was held.
peak_kib() { # rows source(pipe|file)
        python3 - "$I" "$1" "$2" "$d" <<'PY'
import resource, subprocess, sys
isched, rows, source, d = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def lines():
    yield b"x0,x1,x2,r0,r1,r2,r3\n"
    for i in range(rows):
        yield b"1,%d.25,0.%d,%d.5,0.%d,1.25,0.75\n" % (i % 97, i % 13, i % 7, i % 11)
if source == "file":
    with open(d + "/big.csv", "wb") as f:
        f.writelines(lines())
    p = subprocess.run([isched, "learn", "--data", d + "/big.csv", "--policy", "egreedy", "--arms-out", d + "/arms"],
                       stdout=subprocess.DEVNULL)
else:
    p = subprocess.Popen([isched, "learn", "--data", "/dev/stdin", "--policy", "egreedy", "--arms-out", d + "/arms"],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    for l in lines():
        p.stdin.write(l)
    p.stdin.close()
    p.wait()
if p.returncode != 0:
    sys.exit(1)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
}
for source in pipe file; do
        small=$(peak_kib 100000 $source)
        arms_small=$(wc -l <"$d/arms" 2>/dev/null)
        large=$(peak_kib 1000000 $source)
        arms_large=$(wc -l <"$d/arms" 2>/dev/null)
        echo "note: peak resident size from a $source: $small KiB for 100 000 rows, $large KiB for 1 000 000"
        expect "learn from a $source: 10 times the rows, at most 2 MiB more memory (and every arm written)" \
                '[ -n "$small" ] && [ -n "$large" ] && [ $((large - small)) -le 2048 ] &&
                 [ "$arms_small" = 100000 ] && [ "$arms_large" = 1000000 ]'
done

# ---- empty lines ----
printf '\n\n' | cat "$d/good.csv" - >"$d/trailing.csv"
learn --data "$d/trailing.csv"
expect "trailing empty lines are accepted (numpy and pandas accept them)" '[ $rc -eq 0 ] && grep -q "rounds: *3$" "$d/out"'
printf 'x0,r0,r1\n1,0.5,0.25\n\n1,0.1,0.9\n' >"$d/middle.csv"
learn --data "$d/middle.csv"
expect "an empty line that data follows: refused, naming both lines" \
        '[ $rc -eq 2 ] && grep -q "middle.csv:3: empty line, and data follows it at line 4" "$d/err"'

# ---- one rule for every reward column ----
# The first row's reward of 1e200 is in a column the policy may not choose:
# it is refused all the same, and for every policy and seed alike.
printf 'x0,r0,r1,r2\n1,0.5,1e200,0.3\n1,0.1,0.2,0.3\n' >"$d/huge.csv"
for p in linucb egreedy lints; do
        "$I" learn --data "$d/huge.csv" --policy $p >"$d/out" 2>"$d/err"
        rc=$?
        expect "$p: a reward beyond 1e100 in any column is refused, naming it" \
                '[ $rc -eq 2 ] && grep -q "huge.csv:2: column 3 (r1): 1e+200 is beyond" "$d/err"'
done
printf 'x0,r0\n-2e100,0.5\n' >"$d/hugex.csv"
learn --data "$d/hugex.csv"
expect "a feature beyond 1e100: the same rule" '[ $rc -eq 2 ] && grep -q "column 1 (x0)" "$d/err"'

# ---- outputs: checked before the first row, errors are exit 1 ----
learn --data "$d/good.csv" --arms-out /dev/full
expect "--arms-out /dev/full: exit 1, the write error said" '[ $rc -eq 1 ] && grep -q "arms-out /dev/full" "$d/err"'
learn --data "$d/good.csv" --arms-out "$d/nodir/arms.txt"
expect "--arms-out into a missing directory: refused before any row" \
        '[ $rc -eq 2 ] && grep -q "nodir" "$d/err" && [ ! -s "$d/out" ]'
learn --data "$d/good.csv" --model-out "$d/nodir/m.json"
expect "--model-out into a missing directory: refused before any row" \
        '[ $rc -eq 2 ] && grep -q "does not exist" "$d/err" && [ ! -s "$d/out" ]'
learn --data "$d/middle.csv" --arms-out "$d/arms.txt"
expect "a failed run leaves no half-written --arms-out" '[ $rc -eq 2 ] && [ ! -e "$d/arms.txt" ] && ! ls "$d" | grep -q "arms.txt.tmp"'
learn --data "$d/good.csv" --arms-out "$d/arms.txt" --json
expect "--arms-out: one arm per row" '[ $rc -eq 0 ] && [ "$(wc -l <"$d/arms.txt")" = 3 ]'
"$I" learn --data "$d/good.csv" --policy linucb >/dev/full 2>"$d/err"
expect "learn > /dev/full: exit 1" '[ $? -eq 1 ]'

# ---- messages ----
printf 'x0,\033[31mr0\nx\n' >"$d/escape.csv"
learn --data "$d/escape.csv"
expect "a control character in the header is shown escaped, not sent to the terminal" \
        '[ $rc -eq 2 ] && grep -q "\\\\x1b\[31mr0" "$d/err" && ! grep -q "$(printf "\033")" "$d/err"'
printf 'x0,r0,r1\r1,0.5,0.25\r1,0.1,0.9\r' >"$d/cr.csv"
learn --data "$d/cr.csv"
expect "CR-only line endings: said so, with the fix" '[ $rc -eq 2 ] && grep -q "end in CR only" "$d/err"'
learn --data "$d/good.csv" --policy lints
expect "learn --policy twice: refused" '[ $rc -eq 2 ] && grep -q "given twice" "$d/err"'
learn --data
expect "learn --data without its value: named as such" '[ $rc -eq 2 ] && grep -q "data needs a value" "$d/err"'
expect "learn -V prints the version" '"$I" learn -V | grep -q "^isched [0-9]"'
t_done

#!/bin/bash
# Files isched writes (docs/reliability.md): created with mode 0600 whatever
# the umask, refused in a directory writable by others (without the sticky
# bit), and never written through a symbolic link given on the command line
# or planted in the state directory.  Needs $ISCHED.
set -u
I=${ISCHED:?set ISCHED to the isched binary}
. "$(dirname "$0")/../lib.sh"
t_init files
mode_of() { stat -c %a "$1" 2>/dev/null; }
run() { # isched run for 3 epochs; sets rc
        "$I" run --pool Pool-0 --steps 3 --interval 0.1 --epoch 0.2 "$@" >"$d/out" 2>"$d/err"
        rc=$?
}

umask 000
mkdir -m 700 "$d/priv"
run --state-dir "$d/priv" --model "$d/priv/m.json" --log "$d/priv/log.jsonl"
expect "a run in a private directory succeeds" '[ $rc -eq 0 ]'
for f in m.json Pool-0.state.json log.jsonl Pool-0.lock; do
        expect "$f has mode 600 under umask 000" '[ "$(mode_of "$d/priv/$f")" = 600 ]'
done
printf 'x0,r0,r1\n1,0.5,0.25\n1,0.1,0.9\n' >"$d/priv/data.csv"
"$I" learn --data "$d/priv/data.csv" --policy linucb --model-out "$d/priv/learned.json" >/dev/null 2>&1
expect "isched learn --model-out writes mode 600" '[ "$(mode_of "$d/priv/learned.json")" = 600 ]'

for what in state model log; do
        ww="$d/ww-$what"
        mkdir -m 777 "$ww"
        chmod 777 "$ww"
        case $what in
        state) run --state-dir "$ww" ;;
        model) run --state-dir "$d/priv" --model "$ww/m.json" ;;
        log) run --state-dir "$d/priv" --log "$ww/log.jsonl" ;;
        esac
        expect "$what file in a world-writable directory: refused at start" \
                '[ $rc -ne 0 ] && grep -q "world-writable" "$d/err" && [ -z "$(ls "$ww" | grep -v lock)" ]'
done
mkdir -m 1777 "$d/sticky"
chmod 1777 "$d/sticky"
run --state-dir "$d/priv" --log "$d/sticky/log.jsonl"
expect "a sticky world-writable directory (like /tmp) is accepted for the log" '[ $rc -eq 0 ]'

# Symbolic links given on the command line, or planted where isched writes.
victim="$d/victim"
ln -s "$victim" "$d/priv/link.json"
run --state-dir "$d/priv" --model "$d/priv/link.json"
expect "--model naming a symbolic link: refused, target untouched" \
        '[ $rc -ne 0 ] && grep -q "symbolic link" "$d/err" && [ ! -e "$victim" ]'
run --state-dir "$d/priv" --log "$d/priv/link.json"
expect "--log naming a symbolic link: refused, target untouched" '[ $rc -ne 0 ] && [ ! -e "$victim" ]'
mkdir -m 700 "$d/planted"
ln -s "$victim" "$d/planted/Pool-0.state.json"
run --state-dir "$d/planted"
expect "a symbolic link planted as the state file: refused, target untouched" '[ $rc -ne 0 ] && [ ! -e "$victim" ]'
"$I" learn --data "$d/priv/data.csv" --policy linucb --model-out "$d/priv/link.json" >/dev/null 2>&1
expect "learn --model-out naming a symbolic link: refused, target untouched" '[ $? -ne 0 ] && [ ! -e "$victim" ]'
"$I" learn --data "$d/priv/data.csv" --policy linucb --seed 2 --model-out "$d/priv/learned2.json" >/dev/null 2>&1
"$I" model merge -o "$d/priv/link.json" "$d/priv/learned.json" "$d/priv/learned2.json" >"$d/out" 2>&1
expect "model merge -o naming a symbolic link: refused, target untouched" \
        '[ $? -ne 0 ] && grep -q "symbolic link" "$d/out" && [ ! -e "$victim" ]'
"$I" learn --data "$d/priv/data.csv" --policy linucb --arms-out "$d/priv/link.json" >/dev/null 2>&1
expect "learn --arms-out naming a symbolic link: the link is replaced, never followed" \
        '[ ! -e "$victim" ] && [ ! -L "$d/priv/link.json" ]'

t_done

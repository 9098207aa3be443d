#!/bin/bash
# isched-guest end to end without Xen (--dry-run): every source, the
# schedule, the options refused with exit 2, and a clean stop on SIGTERM.
# The xenstore writes themselves are checked against a real xenstored in
# the QEMU end-to-end test (tests/xen-qemu/).
set -u
EXE=$1
SERVER=
t_on_exit() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; }
. "$(dirname "$0")/../lib.sh"
t_init guest-test
T=$d
work() { sed -n 's/.*work=\([0-9]*\) .*/\1/p' "$1"; }
tns() { sed -n 's/.*time_ns=\([0-9]*\)$/\1/p' "$1"; }

echo 4711 >"$T/count"
"$EXE" --file "$T/count" --dry-run --once >"$T/out" 2>"$T/err"
expect "file: published" '[ $? -eq 0 ] && [ "$(work "$T/out")" = 4711 ] && grep -q "^data/intellisched/work=4711 data/intellisched/time_ns=[0-9]*$" "$T/out"'

"$EXE" --command 'echo 2.5' --scale 1000 --dir data/app --dry-run --once >"$T/out"
expect "command, scale, dir" 'grep -q "^data/app/work=2500 " "$T/out"'

"$EXE" --command 'exit 4' --dry-run --once >"$T/out" 2>"$T/err"
expect "failing command: exit 1, nothing published" '[ $? -eq 1 ] && [ ! -s "$T/out" ] && grep -q "status 4" "$T/err"'

printf '# TYPE jobs_total counter\njobs_total{q="a"} 40\njobs_total{q="b"} 2\n' >"$T/metrics"
"$EXE" --prometheus "$T/metrics" --metric 'jobs_total' --dry-run --once >"$T/out"
expect "prometheus file: series summed" '[ "$(work "$T/out")" = 42 ]'

# A Prometheus endpoint over HTTP, as node_exporter or an application serves it.
PORT=$(( 20000 + $$ % 20000 ))
(cd "$T" && exec python3 -m http.server --bind 127.0.0.1 "$PORT" >/dev/null 2>&1) &
SERVER=$!
for _ in $(seq 50); do "$EXE" --prometheus "http://127.0.0.1:$PORT/metrics" --metric 'jobs_total{q="b"}' \
        --dry-run --once >"$T/out" 2>/dev/null && break; sleep 0.1; done
expect "prometheus over http: label selector" '[ "$(work "$T/out")" = 2 ]'
"$EXE" --prometheus "http://127.0.0.1:$PORT/missing" --metric jobs_total --dry-run --once >/dev/null 2>"$T/err"
expect "http 404: exit 1, named" '[ $? -eq 1 ] && grep -q "status 404" "$T/err"'

# The loop: a growing counter, published every 0.05 s, stopped by SIGTERM.
(i=0; while :; do i=$((i + 7)); echo $i >"$T/grow.tmp"; mv "$T/grow.tmp" "$T/grow"; sleep 0.02; done) &
WRITER=$!
sleep 0.1
"$EXE" --file "$T/grow" --interval 0.05 --dry-run >"$T/loop" 2>"$T/err" &
PUB=$!
sleep 1
kill -TERM $PUB
wait $PUB
rc=$?
kill $WRITER
n=$(wc -l <"$T/loop")
expect "loop: SIGTERM exits 0" '[ $rc -eq 0 ]'
expect "loop: about 20 publications in 1 s ($n)" '[ "$n" -ge 10 ] && [ "$n" -le 25 ]'
expect "loop: work and time never go backwards" \
        'work "$T/loop" | sort -n -c && tns "$T/loop" | sort -n -c && [ "$(tns "$T/loop" | sort -u | wc -l)" -eq "$n" ]'

for bad in "" "--file a --command b" "--prometheus x" "--metric x --file a" "--file a --interval 0" \
           "--file a --interval abc" "--file a --dir /abs" "--file a --bogus" "--file a extra" \
           "--prometheus x --metric y{" "--file a --scale -1"; do
        # shellcheck disable=SC2086
        "$EXE" $bad --dry-run --once >/dev/null 2>"$T/err"
        expect "bad options exit 2: '$bad'" '[ $? -eq 2 ] && [ -s "$T/err" ]'
done
"$EXE" --help | grep -q -- "--prometheus URL"
expect "--help" '[ $? -eq 0 ]'

t_done

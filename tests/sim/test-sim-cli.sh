#!/bin/bash
# isched sim: byte-identical output for the same options, different for
# another seed; --list, --help; bad options and bad workload files exit 2
# with a message naming the problem.
set -u
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
check() { # description, condition result
        if [ "$2" = 0 ]; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi
}

"$ISCHED" sim --scenario pipeline --arrangement core --duration 0.5 --seed 7 >"$tmp/a" 2>&1
check "sim runs" $?
"$ISCHED" sim --scenario pipeline --arrangement core --duration 0.5 --seed 7 >"$tmp/b" 2>&1
cmp -s "$tmp/a" "$tmp/b"; check "same options, byte-identical text output" $?
"$ISCHED" sim --scenario pipeline --arrangement core --duration 0.5 --seed 7 --json >"$tmp/c" 2>&1
"$ISCHED" sim --scenario pipeline --arrangement core --duration 0.5 --seed 7 --json >"$tmp/d" 2>&1
cmp -s "$tmp/c" "$tmp/d"; check "same options, byte-identical JSON output" $?
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['pools'][0]['metrics']['score'] is not None" "$tmp/c"
check "JSON parses and has a score" $?
"$ISCHED" sim --scenario pipeline --arrangement core --duration 0.5 --seed 8 >"$tmp/e" 2>&1
! cmp -s "$tmp/a" "$tmp/e"; check "another seed, other output" $?
grep -q "wake latency p99" "$tmp/a"; check "text output has the p99 latency" $?

python3 -c "
import json,sys
d=json.load(open(sys.argv[1]))
doms=d['pools'][0]['domains']
assert [x['domain'] for x in doms] == ['pipe-a', 'pipe-b', 'pipe-c', 'batch'], doms
for x in doms:
    assert x['work_units'] > 0 and x['wakeups'] > 0 and x['wake_latency_p99_us'] >= x['wake_latency_mean_us'] * 0.5 > 0, x
" "$tmp/c"
check "JSON has each domain under its pool with work and wake latencies" $?

"$ISCHED" sim --list-costs >"$tmp/costs" 2>&1
grep -q '^xfer_socket_ns  *49.9 ns ' "$tmp/costs"; check "--list-costs names the costs with defaults" $?
printf '{"xfer_socket_ns": 500, "lock_cs_ns": 2000}' >"$tmp/costs.json"
"$ISCHED" sim --scenario pipeline --arrangement core --duration 0.5 --seed 7 --costs "$tmp/costs.json" --json >"$tmp/f" 2>&1
python3 -c "
import json,sys
a=json.load(open(sys.argv[1]))['pools'][0]; b=json.load(open(sys.argv[2]))['pools'][0]
assert b['lock_wait_ns_per_op'] > a['lock_wait_ns_per_op'] and b['metrics']['throughput_work_per_pcpu_s'] < a['metrics']['throughput_work_per_pcpu_s'], (a, b)
" "$tmp/c" "$tmp/f"
check "--costs makes locks dearer" $?
printf '{"xfer_sokcet_ns": 5}' >"$tmp/badcosts.json"

n=$("$ISCHED" sim --list | wc -l)
[ "$n" -ge 6 ]; check "--list names at least 6 scenarios ($n)" $?
"$ISCHED" sim --list | grep -q '^phased ' ; check "--list has phased" $?
"$ISCHED" sim --list | grep -q '^xenbuild-noise ' ; check "--list has xenbuild-noise" $?
"$ISCHED" sim --help | grep -q -- '--arrangement'; check "--help" $?

expect_usage() { # description, expected text, args...
        local what=$1 text=$2; shift 2
        "$ISCHED" sim "$@" >"$tmp/out" 2>&1
        local rc=$?
        [ $rc = 2 ] && grep -q -- "$text" "$tmp/out"
        check "$what (exit $rc)" $?
}
expect_usage "bad arrangement" "'bogus' is not an arrangement" --arrangement bogus
expect_usage "bad duration" "--duration" --duration -1
expect_usage "unknown option" "unknown option" --frobnicate
expect_usage "unknown scenario" "unknown scenario 'nope'" --scenario nope
expect_usage "scenario and workload" "not both" --scenario phased --workload x.json
expect_usage "missing workload file" "nonexistent.json" --workload "$tmp/nonexistent.json"
expect_usage "bad topology" "topology" --topology 2x2 --duration 0.1
printf '{"topology": "1n1s2c2t", "domains": [{"name": "a", "vcpus": 2, "behaviour": {"kind": "io", "sleep_us": "x"}}]}' >"$tmp/bad.json"
expect_usage "bad field in workload" "domains\[0\].behaviour.sleep_us" --workload "$tmp/bad.json"
expect_usage "unknown cost" "unknown cost 'xfer_sokcet_ns'" --costs "$tmp/badcosts.json" --duration 0.1
expect_usage "missing costs file" "nothere.json" --costs "$tmp/nothere.json" --duration 0.1
printf '{"topology": "1n1s2c2t", "domains": [' >"$tmp/trunc.json"
expect_usage "truncated workload" "not valid JSON" --workload "$tmp/trunc.json"
exit $fail

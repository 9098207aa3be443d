#!/bin/bash
# What the xen-qemu check GW_WINDOWS asks of the agent on real Xen, shown
# here on a trace with the faults of that check (docs/guest-work.md, "End
# to end"): a trace recorded on the simulator in mode xen+guests gets a
# stale publisher (the generation changes, no valid work for 3 reads), a
# window in which the pool did no work, and a counter that went backwards
# (the generation changes, the domain counts from the next read); the real
# agent then replays it.  Every decision must be taken on a window of
# guest-published work of one generation that grew; every decision whose
# reward window crosses a change of generation must be dropped for it,
# never learned; the zero-work window is skipped; and the agent learns
# again after each fault.  Needs $ISCHED.
set -u
I=${ISCHED:?set ISCHED}
. "$(dirname "$0")/../lib.sh"
t_init guest-faults
run() { "$I" run --no-config --pool Pool-0 --interval 1 --epoch 1 --settle 0 --no-prior --no-shadow "$@"; }

# A small host and two publishing domains: the recording is quick.
printf '%s' '{"topology": "1n1s4c1t", "domains": [
 {"name": "app", "vcpus": 2, "behaviour": {"kind": "cpu", "burst_us": 2000, "sleep_us": 500}},
 {"name": "db", "vcpus": 2, "behaviour": {"kind": "cpu", "burst_us": 1000, "sleep_us": 1000}}]}' >"$d/workload"
run --workload "$d/workload" --observation xen+guests --steps 60 --state-dir "$d/s1" --record "$d/base" \
        >/dev/null 2>"$d/err"
expect "a trace of mode xen+guests recorded" '[ $? -eq 0 ] && [ "$(wc -l <"$d/base")" -ge 60 ]'

python3 - "$d/base" "$d/faults" >"$d/err" 2>&1 <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
recs = [json.loads(l) for l in lines[1:]]
WORK = 1 << 8
for i, r in enumerate(recs):
    c = r["counters"]
    assert c["valid"] & (WORK | 1 << 9) == WORK | 1 << 9, c["valid"]
    c["work_generation"] = (i >= 20) + (i >= 40)
    if 20 <= i <= 22:       # stale: out of the sum, no valid work
        c["valid"] &= ~WORK
        c["work_domains"] = 0
    if i == 40:             # went backwards: counts from the next read
        c["work_domains"] = 0
d = recs[31]["counters"]["work_units"] - recs[30]["counters"]["work_units"]
assert d > 0
for r in recs[31:]:          # the pool did no work from 30 to 31
    r["counters"]["work_units"] -= d
with open(sys.argv[2], "w") as f:
    f.write(lines[0] + "\n" + "".join(json.dumps(r) + "\n" for r in recs))
PY
expect "faults put into the trace" '[ $? -eq 0 ]'

run --backend replay --trace "$d/faults" --state-dir "$d/s2" --log "$d/log" --record "$d/replayed" \
        >/dev/null 2>"$d/err"
expect "the agent replays it" '[ $? -eq 0 ] && [ -s "$d/log" ]'

python3 - "$d/replayed" "$d/log" >"$d/err" 2>&1 <<'PY'
import json, sys
snaps = [json.loads(l)["counters"] for l in open(sys.argv[1]).read().splitlines()[1:]]
at = {s["timestamp_ns"]: i for i, s in enumerate(snaps)}
BITS = 3 << 8
left = "left the pool's sum during the window"
decided, waited, learned_after = 0, 0, {20: 0, 40: 0}
skipped_zero = False
for line in open(sys.argv[2]):
    r = json.loads(line)
    i = at.get(round(r["time_s"] * 1e9))
    assert i is not None, ("no snapshot at the decision's time", r["time_s"])
    if r.get("note") == "agent stopped":
        continue
    a, b = snaps[i - 1], snaps[i]
    decided += 1
    assert a["valid"] & BITS == BITS and b["valid"] & BITS == BITS, ("decided on a window without work", i)
    assert a["work_generation"] == b["work_generation"], ("decided on a window across a fault", i)
    assert b["work_units"] > a["work_units"] and b["work_domains"] >= 1, ("decided on a window without work", i)
    if i + 1 < len(snaps) and snaps[i + 1]["work_generation"] != b["work_generation"]:
        waited += 1
        assert r["reward"] is None and left in r["note"], ("a decision across a fault was not dropped for it", i, r)
    if i == 30:
        skipped_zero = r["reward"] is None and "the pool did no work" in r["note"]
    for f in learned_after:
        learned_after[f] += i > f + 1 and r["reward"] is not None
assert waited == 2, ("decisions waiting at the two faults", waited)
assert skipped_zero, "the window in which the pool did no work was not skipped"
assert all(learned_after.values()), ("learned after each fault", learned_after)
print(decided, "decisions", waited, "dropped at the faults", learned_after)
PY
expect "decisions only on windows of one generation with work; both waiting at a fault dropped; learning resumes" \
        '[ $? -eq 0 ]'
t_done

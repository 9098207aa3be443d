#!/bin/bash
# Observation modes as an administrator meets them (docs/guest-work.md): a
# mode the backend cannot give is refused with exit 2 and a message that
# names it, from the command line and from the configuration file; the
# configuration file's guest-weights and guest-share-cap reach the
# backend; a model of another mode is refused.  Needs $ISCHED.
set -u
I=${ISCHED:?set ISCHED}
. "$(dirname "$0")/../lib.sh"
t_init observation
run() { "$I" run --state-dir "$d/state" --steps 3 "$@" >"$d/out" 2>"$d/err"; rc=$?; }
mkdir "$d/state"
refused() { # description, words the message must hold, arguments...
        local what=$1 words=$2 w
        shift 2
        run "$@"
        local ok=1
        [ $rc -eq 2 ] || ok=0
        for w in $words; do grep -qF -- "$w" "$d/err" || ok=0; done
        expect "$what: exit 2 ($rc), the message names $words" '[ $ok = 1 ]'
}

# ---- a mode the backend cannot give ----
refused "xen backend, ground truth" "xen ground-truth" \
        --no-config --pool Pool-0 --backend xen --observation ground-truth
"$I" run --no-config --pool Pool-0 --steps 2 --no-shadow --state-dir "$d/state" --record "$d/trace" >/dev/null 2>"$d/err"
expect "a trace recorded on the simulator" '[ $? -eq 0 ] && [ -s "$d/trace" ]'
refused "replay backend, any mode" "replay observation" \
        --no-config --pool Pool-0 --backend replay --trace "$d/trace" --observation xen
refused "unknown mode" "xen-guests ground-truth xen+guests" \
        --no-config --pool Pool-0 --observation xen-guests
printf '[agent]\npools = Pool-0\n[backend]\nbackend = xen\nobservation = ground-truth\n' >"$d/xen-gt.conf"
refused "configuration file: xen backend, ground truth" "xen ground-truth" --config "$d/xen-gt.conf"
printf '[agent]\npools = Pool-0\n[backend]\nobservation = xen+guests\nguest-share-cap = 1.5\n' >"$d/cap.conf"
refused "configuration file: share cap above 1" "cap.conf:5 guest-share-cap 1.5" --config "$d/cap.conf"
printf '[agent]\npools = Pool-0\n[backend]\nobservation = xen+guests\nguest-weights = web=lots\n' >"$d/w.conf"
refused "configuration file: a weight that is not a number, with its file and line" "w.conf:5 guest-weights web=lots" \
        --config "$d/w.conf"
refused "command line: a weight without a name" "=2" --no-config --pool Pool-0 --observation xen+guests \
        --guest-weights =2

# ---- the configuration file's weights and cap reach the backend ----
# The default scenario's pool has domains web and net (isched explain's
# guests); web weighs 3, net is excluded.
printf '[agent]\npools = Pool-0\n[backend]\nobservation = xen+guests\nguest-weights = web=3,net=0\nguest-share-cap = 0.8\n' \
        >"$d/good.conf"
run --config "$d/good.conf" --show-config
expect "--show-config: the keys, from the file" \
        '[ $rc -eq 0 ] && grep -q "^guest-weights = web=3,net=0 .*good.conf:5" "$d/out" &&
         grep -q "^guest-share-cap = 0.8 .*good.conf:6" "$d/out"'
run --config "$d/good.conf" --no-shadow --model "$d/guests.model"
expect "a run in mode xen+guests from the configuration file" '[ $rc -eq 0 ] && [ -s "$d/guests.model" ]'
"$I" explain --pool Pool-0 --state-dir "$d/state" >"$d/explain" 2>"$d/err"
python3 - "$d/explain" >"$d/err" 2>&1 <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
g = {x["name"]: x for x in doc["guests"]}
assert doc["context"]["window_throughput"]["source"] == "guest-work", doc["context"]["window_throughput"]
assert g["web"]["weight"] == 3, g["web"]
assert g["net"]["state"] == "excluded" and g["net"]["share"] == 0, g["net"]
# No accepted interval: no rate (null, not 0); a live domain has one.
assert g["net"]["rate_per_s"] is None, g["net"]
assert all(isinstance(x["rate_per_s"], (int, float)) for x in g.values() if x["state"] == "live"), g
others = [x for n, x in g.items() if n not in ("web", "net")]
assert others and all(x["weight"] == 1 for x in others), others
assert max(x["share"] for x in g.values()) <= 0.8 + 1e-9, g
PY
expect "explain: web weighs 3, net is excluded (no rate), the others weigh 1, no share above the cap" '[ $? -eq 0 ]'

# ---- a model keeps its mode ----
refused "a model of mode xen+guests on a pool observed as xen" "xen+guests mode xen" \
        --no-config --pool Pool-0 --observation xen --model "$d/guests.model"
t_done

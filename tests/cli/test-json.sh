#!/bin/bash
# Every JSON intellisched writes matches its schema in docs/ (docs/json.md),
# and the files of the first formats still load: a v1 model, a v1 decision
# log, a v2 trace, a v1 state file.  A schema name this isched does not
# read is refused with a message naming the ones it reads.
# Needs $ISCHED, $JSON_CHECK and $SRCDIR.
set -u
I=${ISCHED:?set ISCHED to the isched binary}
C=${JSON_CHECK:?set JSON_CHECK to tests/cli/json-check}
src=${SRCDIR:?set SRCDIR to the source tree}
old="$src/tests/cli/old"
. "$(dirname "$0")/../lib.sh"
t_init json
valid() { # schema-name file [--lines]
        "$C" "$src/docs/$1-schema.json" "$2" ${3:-} 2>"$d/err"
}

# ---- what every command writes ----
"$I" run --no-config --pool Pool-0 --steps 30 --interval 0.25 --epoch 0.5 --min-dwell 0 --policy egreedy \
        --epsilon 0.5 --state-dir "$d/s" --model "$d/m.json" --log "$d/log.jsonl" --record "$d/t.jsonl" \
        --json >"$d/run.json" 2>"$d/err"
expect "a run for the files below" '[ $? -eq 0 ]'
expect "run --json matches docs/run-schema.json" 'valid run "$d/run.json"'
expect "every decision log line matches docs/decision-schema.json" 'valid decision "$d/log.jsonl" --lines'
expect "the model file matches docs/model-schema.json" 'valid model "$d/m.json"'
expect "every trace line matches docs/trace-schema.json" 'valid trace "$d/t.jsonl" --lines'
expect "the state file matches docs/explain-schema.json" 'valid explain "$d/s/Pool-0.state.json"'
"$I" status --state-dir "$d/s" --json >"$d/status.json"
expect "status --json matches docs/status-schema.json" 'valid status "$d/status.json"'
"$I" pools --json >"$d/pools.json"
expect "pools --json matches docs/pools-schema.json" 'valid pools "$d/pools.json"'
"$I" pools --backend replay --trace "$d/t.jsonl" --json >"$d/pools-replay.json"
expect "pools --json of a replay matches too" 'valid pools "$d/pools-replay.json"'
"$I" sim --duration 1 --json >"$d/sim.json"
expect "sim --json matches docs/sim-schema.json" 'valid sim "$d/sim.json"'
# The safety layer decided most rounds: the target under the same guards.
"$I" eval --log "$d/log.jsonl" --policy lingreedy --guard-rounds replay --json >"$d/eval.json" 2>"$d/err"
expect "eval --json matches docs/eval-schema.json" 'valid eval "$d/eval.json"'
printf 'x0,x1,r0,r1\n1,0.2,0.5,0.25\n1,0.7,0.1,0.9\n1,0.4,0.3,0.3\n' >"$d/data.csv"
"$I" learn --data "$d/data.csv" --policy linucb --json --model-out "$d/learned.json" >"$d/learn.json" 2>"$d/err"
expect "learn --json matches docs/learn-schema.json" 'valid learn "$d/learn.json"'
expect "learn --model-out matches docs/model-schema.json" 'valid model "$d/learned.json"'
cp "$d/m.json" "$d/m2.json"
"$I" run --no-config --pool Pool-0 --steps 2 --interval 0.25 --epoch 0.5 --state-dir "$d/s2" --model "$d/m2.json" \
        >/dev/null 2>&1
"$I" model merge "$d/m.json" "$d/m2.json" -o "$d/merged.json" --json >"$d/merge.json" 2>"$d/err"
expect "model merge --json matches docs/merge-schema.json" 'valid merge "$d/merge.json"'
expect "the merged model matches docs/model-schema.json" 'valid model "$d/merged.json"'
"$I" explain --model "$d/merged.json" >"$d/explain-model.json"
expect "explain --model matches docs/explain-schema.json" 'valid explain "$d/explain-model.json"'

# The validator rejects what a schema forbids, so the checks above can fail.
sed 's/"arms_enabled"/"arm_mask"/' "$d/m.json" >"$d/renamed.json"
expect "the validator catches a renamed member" '! valid model "$d/renamed.json"'
sed 's/"pool_id":0/"pool":0/' "$d/t.jsonl" >"$d/renamed.jsonl"
expect "the validator catches a v2 trace record" '! valid trace "$d/renamed.jsonl" --lines'

# ---- the naming convention, where a schema says less than the rule ----
expect "no member of any output is a bit mask of arms or an arm number" \
        '! grep -q "arm_mask\|arm_index\|\"mask\"" "$d/log.jsonl" "$d/m.json" "$d/s/Pool-0.state.json" "$d/t.jsonl"'
for f in run status pools sim eval learn merge explain-model; do
        expect "$f output names its schema" 'grep -q "\"schema\":[[:space:]]*\"isched-" "$d/$f.json"'
done

# ---- the first formats still load ----
# A model of the agent's first features (isched-features-v1) cannot be used by
# today's agent: it is refused, saying so, and left as it is.
cp "$old/model-v1.json" "$d/old-model.json"
"$I" run --no-config --pool Pool-0 --steps 2 --interval 0.25 --epoch 0.5 --state-dir "$d/s3" --model "$d/old-model.json" \
        >"$d/out" 2>"$d/err"
expect "a v1 agent model: refused (exit 2), saying to retrain, file untouched" \
        '[ $? -eq 2 ] && grep -q "retrain" "$d/err" && cmp -s "$d/old-model.json" "$old/model-v1.json"'
# A v1 model whose features still mean the same (a generic one, isched learn)
# loads, and is written in the current format.
rounds_v1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rounds"])' "$old/model-generic-v1.json")
"$I" explain --model "$old/model-generic-v1.json" >"$d/out" 2>"$d/err"
expect "explain --model of a v1 model, with its rounds" \
        '[ $? -eq 0 ] && valid explain "$d/out" && grep -q "\"rounds\":[[:space:]]*$rounds_v1," "$d/out"'
printf 'x0,x1,r0,r1,r2\n1,0.3,0.2,0.4,0.1\n1,0.6,0.5,0.1,0.2\n' >"$d/d2.csv"
"$I" learn --data "$d/d2.csv" --policy lingreedy --model-out "$d/new-generic.json" >/dev/null 2>"$d/err"
"$I" model merge "$old/model-generic-v1.json" "$d/new-generic.json" -o "$d/merged-old.json" >/dev/null 2>"$d/err"
expect "a v1 model merges with a current one; the result is in the current format" \
        '[ $? -eq 0 ] && valid model "$d/merged-old.json" &&
         [ "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"rounds\"])" "$d/merged-old.json")" = $((rounds_v1 + 2)) ]'
"$I" eval --log "$old/decision-v1.jsonl" --policy egreedy --epsilon 0.5 --json >"$d/out" 2>"$d/err"
expect "eval of a v1 decision log with the score as label: exit 2, naming --label reward" \
        '[ $? -eq 2 ] && grep -q "decision-v1.jsonl:1: no window_score.*--label reward" "$d/err"'
"$I" eval --log "$old/decision-v1.jsonl" --policy egreedy --epsilon 0.5 --label reward --guard-rounds replay \
        --json >"$d/eval-old.json" 2>"$d/err"
expect "eval reads a v1 decision log" '[ $? -eq 0 ] && valid eval "$d/eval-old.json"'
# Old and new lines in one log: read alike, but the agent's features changed
# in between (isched-features-v1 to v2), which eval refuses, saying so.
cat "$old/decision-v1.jsonl" "$d/log.jsonl" >"$d/mixed.jsonl"
"$I" eval --log "$d/mixed.jsonl" --policy egreedy --json >"$d/out" 2>"$d/err"
expect "eval of a log whose features changed midway: exit 2, naming the line and why" \
        '[ $? -eq 2 ] && grep -q "mixed.jsonl:13: .*features changed" "$d/err"'
# The same lines as an agent before the renaming wrote them.
python3 - "$d/log.jsonl" >"$d/older.jsonl" <<'PY'
import json, sys
arms = ["cpu", "core", "socket", "node", "all"]
for line in list(open(sys.argv[1]))[:3]:
    o = json.loads(line)
    del o["schema"]
    o["time"] = o.pop("wall_time_s")
    o["arm_index"] = arms.index(o["arm"])
    o["arm_mask"] = sum(1 << arms.index(a) for a in o.pop("arms_enabled"))
    o["log_version"] = 2
    print(json.dumps(o))
PY
cat "$d/older.jsonl" "$d/log.jsonl" >"$d/mixed2.jsonl"
"$I" eval --log "$d/mixed2.jsonl" --policy egreedy --guard-rounds replay --json >"$d/out" 2>"$d/err"
expect "eval reads a log appended to by agents before and after the renaming" '[ $? -eq 0 ] && valid eval "$d/out"'
"$I" run --no-config --pool Pool-0 --backend replay --trace "$old/trace-v2.jsonl" --state-dir "$d/s4" >"$d/out" 2>"$d/err"
expect "a v2 trace replays" '[ $? -eq 0 ] && grep -q "replay trace has ended" "$d/out"'
"$I" pools --backend replay --trace "$old/trace-v2.jsonl" --json >"$d/out"
expect "pools of a v2 trace, in the current names" 'valid pools "$d/out"'
mkdir -m 700 "$d/s5"
cp "$old/state-v1.json" "$d/s5/Pool-0.state.json"
"$I" explain --pool Pool-0 --state-dir "$d/s5" >"$d/out" 2>"$d/err"
expect "explain prints a v1 state file as it is" '[ $? -eq 0 ] && grep -q "isched-explain-v1" "$d/out"'
"$I" status --state-dir "$d/s5" --json >"$d/out" 2>"$d/err"
expect "status reads a v1 state file" '[ $? -eq 0 ] && valid status "$d/out" && grep -q "\"Pool-0\"" "$d/out"'

# ---- versions this isched does not read: refused, clearly ----
sed 's/"isched-model-v2"/"isched-model-v9"/' "$d/m.json" >"$d/v9.json"
"$I" explain --model "$d/v9.json" >/dev/null 2>"$d/err"
expect "a model of an unknown version: exit 2, naming what is read" '[ $? -eq 2 ] && grep -q "isched-model-v2" "$d/err"'
sed '1s/"isched-trace-v3"/"isched-trace-v9"/' "$d/t.jsonl" >"$d/t9.jsonl"
"$I" pools --backend replay --trace "$d/t9.jsonl" >/dev/null 2>"$d/err"
expect "a trace of an unknown version: refused, naming what is read" '[ $? -ne 0 ] && grep -q "isched-trace-v3" "$d/err"'
sed 's/"isched-decision-v3"/"isched-decision-v9"/' "$d/log.jsonl" >"$d/l9.jsonl"
"$I" eval --log "$d/l9.jsonl" --policy linucb >/dev/null 2>"$d/err"
expect "a decision log of an unknown version: exit 2, naming what is read" \
        '[ $? -eq 2 ] && grep -q "isched-decision-v3" "$d/err"'

# ---- every schema file is documented ----
for f in "$src"/docs/*-schema.json; do
        n=$(basename "$f")
        expect "$n is listed in docs/json.md" 'grep -q "$n" "$src/docs/json.md"'
done
t_done

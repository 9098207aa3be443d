#!/bin/bash
# isched run as an administrator meets it (issue 14): the configuration
# file and its precedence, signals (SIGHUP reopens the logs and rereads the
# configuration, SIGTERM and a broken pipe keep the model), the pool
# restored at exit, output that cannot be written, outputs checked before
# any work, conflicting options, isched status.  Needs $ISCHED.
set -u
I=${ISCHED:?set ISCHED to the isched binary}
. "$(dirname "$0")/../lib.sh"
pids=()
t_on_exit() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; }
t_init run
fast=(--interval 0.25 --epoch 0.5 --min-dwell 0 --max-switches-per-hour 0)
run() { # isched run; sets rc
        "$I" run --no-config "$@" >"$d/out" 2>"$d/err"
        rc=$?
}
# Wait (bounded by attempts, not time) until a file contains a pattern.
wait_for() { # file pattern
        for _ in $(seq 1 600); do
                grep -q -- "$2" "$1" 2>/dev/null && return 0
                sleep 0.1
        done
        return 1
}
json_get() { # file python-expression-on-d
        python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null
}

# ---- the configuration file ----
cat >"$d/good.conf" <<EOF
# a comment
[agent]
pools = Pool-0
interval = 0.25
epoch = 0.5
steps = 4
on-exit = keep

[policy]
kind = lingreedy
epsilon = 0.2

[guards]
min-dwell = 0.0
max-switches-per-hour = 0

[files]
state-dir = $d/cfg-state
log-max-size = 1M
EOF
mkdir -m 700 "$d/cfg-state"
"$I" run --config "$d/good.conf" --show-config >"$d/show" 2>"$d/err"
expect "--show-config: exit 0" '[ $? -eq 0 ]'
expect "--show-config names the file and line of each setting" \
        'grep -q "^kind = lingreedy .*# $d/good.conf:10" "$d/show" && grep -q "^interval = 0.25 .*good.conf:4" "$d/show"'
expect "--show-config shows defaults as defaults" 'grep -q "^settle = 1 .*# default" "$d/show"'
expect "min-dwell = 0.0 is accepted as no minimum" 'grep -q "^min-dwell = 0 " "$d/show"'
expect "log-max-size 1M is 1 MiB" 'grep -q "^log-max-size = 1M " "$d/show"'
"$I" run --config "$d/good.conf" --epsilon 0.5 --pool Other --steps 2 --show-config >"$d/show" 2>"$d/err"
expect "the command line overrides the file, and --show-config says so" \
        'grep -q "^epsilon = 0.5 .*# command line" "$d/show" && grep -q "^pools = Other .*# command line" "$d/show" &&
         grep -q "^steps = 2 .*# command line" "$d/show"'
run --show-config --config "$d/good.conf"
expect "--no-config and --config exclude each other" '[ $rc -eq 2 ] && grep -q "exclude each other" "$d/err"'
"$I" run --config "$d/good.conf" >"$d/out" 2>"$d/err"
expect "a run from the configuration file alone" '[ $? -eq 0 ] && grep -q "config $d/good.conf" "$d/out" &&
        grep -q "on exit keep" "$d/out" && [ -f "$d/cfg-state/Pool-0.state.json" ]'
"$I" run --config "$d/missing.conf" >"$d/out" 2>"$d/err"
expect "--config of a missing file: exit 2" '[ $? -eq 2 ] && grep -q "missing.conf" "$d/err"'

bad_config() { # description expected-message file-content
        printf '%b' "$3" >"$d/bad.conf"
        "$I" run --config "$d/bad.conf" --show-config >"$d/out" 2>"$d/err"
        expect "config: $1 (exit 2, message names the line)" "[ \$? -eq 2 ] && grep -q -- \"$2\" \"\$d/err\""
}
bad_config "unknown setting" "bad.conf:2: polcy: unknown setting" '[agent]\npolcy = linucb\n'
bad_config "setting in the wrong section" "bad.conf:2: alpha: belongs in \\[policy\\], not \\[agent\\]" \
        '[agent]\nalpha = 2\n'
bad_config "unknown section" "bad.conf:2: unknown section \\[agnet\\]" '[agnet]\npools = Pool-0\n'
bad_config "setting before a section" "before any \\[section\\]" 'pools = Pool-0\n'
bad_config "bad value" "bad.conf:3: interval: 'soon' is not a number" '[agent]\npools = Pool-0\ninterval = soon\n'
bad_config "set twice" "bad.conf:3: epoch: set twice (first at .*bad.conf:2)" '[agent]\nepoch = 5\nepoch = 10\n'
bad_config "not key = value" "bad.conf:2: not a setting" '[agent]\njust words\n'
bad_config "CR-only line endings" "lines end in CR only" '[agent]\rpools = Pool-0\r'
bad_config "empty value" "bad.conf:2: pools: no value" '[agent]\npools =\n'
bad_config "a parameter of another policy" "bad.conf:5: gamma does not apply to the linucb policy" \
        '[agent]\npools = Pool-0\n[policy]\nkind = linucb\ngamma = 0.5\n'

# ---- conflicting or ignored options ----
run --pool Pool-0 --gamma 0.5 --policy linucb
expect "run --gamma with linucb: refused" '[ $rc -eq 2 ] && grep -q "does not apply to the linucb" "$d/err"'
run --pool Pool-0 --steps 2 --steps 3
expect "an option given twice: refused" '[ $rc -eq 2 ] && grep -q "given twice" "$d/err"'
run --pool Pool-0 --interval
expect "a missing value is named as such" '[ $rc -eq 2 ] && grep -q "interval needs a value" "$d/err"'
run --pool Pool-0 --bogus
expect "an unknown option is named as such" '[ $rc -eq 2 ] && grep -q "unknown option '"'"'--bogus'"'"'" "$d/err"'
run --pool Pool-0 "${fast[@]}" --steps 3 --state-dir "$d/s1" --model "$d/m.json"
expect "a first run creates the model" '[ $rc -eq 0 ] && [ -s "$d/m.json" ]'
cp "$d/m.json" "$d/m.orig"
run --pool Pool-0 "${fast[@]}" --steps 3 --state-dir "$d/s1" --model "$d/m.json" --alpha 5
expect "--alpha that differs from the loaded model's: refused, model untouched" \
        '[ $rc -eq 2 ] && grep -q "differs from the model" "$d/err" && cmp -s "$d/m.json" "$d/m.orig"'
run --pool Pool-0 "${fast[@]}" --steps 3 --state-dir "$d/s1" --model "$d/m.json"
expect "the start banner says the model was loaded and its rounds" 'grep -q "model .*m.json loaded ([0-9]* rounds)" "$d/out"'
run --pool Pool-0 --min-dwell 0.0001
expect "--min-dwell range message says 0 is allowed" '[ $rc -eq 2 ] && grep -q "give 0 or a value from 0.001" "$d/err"'

# ---- the pool is restored at exit (default), or kept ----
# (--no-safety: a policy that always explores switches at once)
run --pool Pool-0 "${fast[@]}" --steps 20 --policy egreedy --epsilon 1 --no-safety --state-dir "$d/s2" --json
expect "--json: a run summary document" '[ $rc -eq 0 ] && [ "$(json_get "$d/out" "d[\"schema\"]")" = isched-run-v1 ]'
expect "on-exit restore (default): back to the takeover arrangement" \
        '[ "$(json_get "$d/out" "d[\"pools\"][0][\"arrangement\"] == d[\"pools\"][0][\"takeover_arrangement\"]")" = True ] &&
         [ "$(json_get "$d/out" "d[\"pools\"][0][\"switches\"] > 1")" = True ]'
expect "the state file says stopped after a clean end" \
        '[ "$(json_get "$d/s2/Pool-0.state.json" "d[\"mode\"]")" = stopped ]'
run --pool Pool-0 "${fast[@]}" --steps 20 --policy egreedy --epsilon 1 --no-safety --state-dir "$d/s2" --on-exit keep --json
expect "--on-exit keep leaves the last arrangement" \
        '[ $rc -eq 0 ] && [ "$(json_get "$d/out" "d[\"pools\"][0][\"restored\"]")" = False ]'

# ---- signals ----
"$I" run --no-config --pool Pool-0 "${fast[@]}" --state-dir "$d/s3" --model "$d/sig.json" --log "$d/log.jsonl" \
        >"$d/sig.out" 2>"$d/sig.err" &
pid=$!
pids+=("$pid")
wait_for "$d/log.jsonl" '"reward"'
"$I" status --state-dir "$d/s3" --json >"$d/status.json"
expect "status: a running agent is running, with its pid" \
        '[ "$(json_get "$d/status.json" "d[\"pools\"][0][\"agent\"]")" = running ] &&
         [ "$(json_get "$d/status.json" "int(d[\"pools\"][0][\"pid\"])")" = "$pid" ]'
"$I" explain --pool Pool-0 --state-dir "$d/s3" >"$d/explain.json"
expect "explain: the agent is running" '[ "$(json_get "$d/explain.json" "d[\"agent\"]")" = running ]'
mv "$d/log.jsonl" "$d/log.jsonl.1"
kill -HUP "$pid"
wait_for "$d/sig.out" "reloaded"
wait_for "$d/log.jsonl" '"reward"'
expect "SIGHUP: the agent goes on, the renamed log is closed and a new one written" \
        'kill -0 $pid && [ -s "$d/log.jsonl" ] && [ -s "$d/log.jsonl.1" ]'
kill -PIPE "$pid"
sleep 0.2
expect "SIGPIPE does not kill the agent" 'kill -0 $pid'
kill -TERM "$pid"
wait "$pid"
rc=$?
expect "SIGTERM: exit 0, the model is saved, the pool restored" \
        '[ $rc -eq 0 ] && [ -s "$d/sig.json" ] && grep -q "stopped by SIGTERM" "$d/sig.out" && grep -q "(restored\|takeover arrangement in force" "$d/sig.out"'
"$I" status --state-dir "$d/s3" --json >"$d/status.json"
expect "status: after SIGTERM the agent is stopped, with no pid" \
        '[ "$(json_get "$d/status.json" "d[\"pools\"][0][\"agent\"]")" = stopped ] &&
         [ "$(json_get "$d/status.json" "d[\"pools\"][0][\"pid\"]")" = None ]'
"$I" explain --pool Pool-0 --state-dir "$d/s3" >"$d/explain.json"
expect "explain: after SIGTERM the agent is stopped, and the file says so" \
        '[ "$(json_get "$d/explain.json" "d[\"agent\"] + \" \" + d[\"mode\"]")" = "stopped stopped" ]'

# SIGHUP rereads the configuration: what can change is applied, the rest named.
sed -e 's/^steps = 4$//' -e 's/^on-exit = keep$/on-exit = restore/' "$d/good.conf" >"$d/live.conf"
"$I" run --config "$d/live.conf" --state-dir "$d/s4" >"$d/live.out" 2>"$d/live.err" &
pid=$!
pids+=("$pid")
wait_for "$d/s4/Pool-0.state.json" '"epoch"'
sed -i -e 's/^on-exit = restore$/on-exit = keep/' -e 's/^epsilon = 0.2$/epsilon = 0.3/' "$d/live.conf"
kill -HUP "$pid"
wait_for "$d/live.err" "need a restart"
kill -TERM "$pid"
wait "$pid"
expect "SIGHUP: a changed on-exit applies at once, a changed epsilon needs a restart (named)" \
        'grep -q "need a restart to apply: epsilon" "$d/live.err" && grep -q "(kept\|takeover arrangement in force" "$d/live.out"'

# A SIGKILLed agent: status says it died; the next agent keeps its baseline.
"$I" run --no-config --pool Pool-0 "${fast[@]}" --policy egreedy --epsilon 1 --state-dir "$d/s5" >/dev/null 2>&1 &
pid=$!
pids+=("$pid")
wait_for "$d/s5/Pool-0.state.json" '"switches":[[:space:]]*[1-9]'
kill -9 "$pid"
wait "$pid" 2>/dev/null
"$I" status --state-dir "$d/s5" >"$d/status.txt"
expect "status: a killed agent shows as died, not running" 'grep -q "^Pool-0 *sim *died " "$d/status.txt"'
"$I" explain --pool Pool-0 --state-dir "$d/s5" >"$d/explain.json"
expect "explain: a killed agent is died, though its file does not say stopped" \
        '[ "$(json_get "$d/explain.json" "d[\"agent\"] == \"died\" and d[\"mode\"] != \"stopped\"")" = True ]'
# A state file whose lock_file names a FIFO: read without blocking.
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
d["lock_file"] = sys.argv[2]
json.dump(d, open(sys.argv[1], "w"))' "$d/s5/Pool-0.state.json" "$d/fifo"
mkfifo "$d/fifo"
timeout 60 "$I" explain --pool Pool-0 --state-dir "$d/s5" >"$d/explain.json" 2>"$d/err"
rc=$?
timeout 60 "$I" status --state-dir "$d/s5" >/dev/null 2>>"$d/err"
rc_status=$?
expect "explain and status: a lock_file that is a FIFO does not block them" \
        '[ $rc -eq 0 ] && [ $rc_status -eq 0 ] && [ "$(json_get "$d/explain.json" "d[\"agent\"]")" = died ]'

# A broken pipe ends the run cleanly: exit 1, the model saved.
"$I" run --no-config --pool Pool-0 "${fast[@]}" --steps 200 --state-dir "$d/s6" --model "$d/pipe.json" 2>"$d/err" | head -1 >/dev/null
rc=${PIPESTATUS[0]}
expect "run | head -1: exit 1 (not 141), the model is saved" \
        '[ $rc -eq 1 ] && [ -s "$d/pipe.json" ] && grep -q "cannot write the output" "$d/err"'

# ---- output that cannot be written ----
for args in "run --no-config --pool Pool-0 --steps 2 --interval 0.25 --epoch 0.5 --state-dir $d/s7" \
        "run --help" "--help" "help run" "--version" "pools" "pools --json" "status --state-dir $d/s3" \
        "explain --pool Pool-0 --state-dir $d/s3" "explain --model $d/m.json" "sim --duration 1" "sim --list" \
        "help" "status --help" "explain --help" "pools --help" "sim --help" "eval --help" "learn --help" \
        "model --help" "model merge --help"; do
        # shellcheck disable=SC2086
        "$I" $args >/dev/full 2>"$d/err"
        rc=$?
        expect "isched $args > /dev/full: exit 1 with a message" '[ $rc -eq 1 ] && grep -q "cannot write" "$d/err"'
done
"$I" help run >"$d/out"
expect "isched help run prints run's help" 'grep -q "^Usage: isched run" "$d/out"'
for v in "-V" "--version" "run --version" "status -V"; do
        # shellcheck disable=SC2086
        expect "isched $v prints the version" '"$I" $v | grep -q "^isched [0-9]"'
done

# ---- outputs checked before any work ----
run --pool Pool-0 --steps 2 --state-dir "$d/s8" --metrics "$d/nodir/x.prom"
expect "--metrics into a missing directory: refused at start" '[ $rc -eq 2 ] && grep -q "does not exist" "$d/err"'
run --pool Pool-0 --steps 2 --state-dir "$d/s8" --metrics "$d/x.txt"
expect "--metrics not ending in .prom: refused" '[ $rc -eq 2 ] && grep -q "\.prom" "$d/err"'
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
        # As an unprivileged user: root writes everywhere.
        as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
        mkdir -m 755 "$d/ro" "$d/ro/state"
        chmod 711 "$d"
fi
# isched must be reachable by nobody: a checkout under a directory that
# others cannot traverse (mktemp -d makes 0700) hides the binary and its
# library from it, and every check below would fail for that reason alone.
if [ -n "${as_nobody+x}" ] && ! "${as_nobody[@]}" "$I" --version >/dev/null 2>"$d/err"; then
        bad "user nobody cannot run $I ($(head -n 1 "$d/err")): every directory above the build must be traversable by others (e.g. mode 755); clone the project into such a directory"
        unset as_nobody
        chmod 700 "$d"
fi
if [ -n "${as_nobody+x}" ]; then
        "${as_nobody[@]}" "$I" run --no-config --pool Pool-0 --steps 2 --state-dir "$d/ro/state" >"$d/out" 2>"$d/err"
        expect "a read-only state directory: refused at start" '[ $? -ne 0 ] && grep -q "not writable" "$d/err" && ! grep -q "epoch" "$d/out"'
        mkdir -m 777 "$d/rw"
        chmod 1777 "$d/rw"
        "${as_nobody[@]}" "$I" run --no-config --pool Pool-0 --steps 30 --state-dir "$d/rw" --model "$d/ro/m.json" \
                >"$d/out" 2>"$d/err"
        expect "--model in a read-only directory: refused at start, before any epoch" \
                '[ $? -ne 0 ] && grep -q "not writable" "$d/err" && ! grep -q "epoch" "$d/out"'
        # A state directory that becomes read-only while the agent runs:
        # said once (not every epoch), and the run ends in failure.
        mkdir -m 755 "$d/rw2"
        chown nobody "$d/rw2"
        "${as_nobody[@]}" "$I" run --no-config --pool Pool-0 "${fast[@]}" --state-dir "$d/rw2" >"$d/out" 2>"$d/err" &
        pid=$!
        pids+=("$pid")
        wait_for "$d/rw2/Pool-0.state.json" '"epoch"'
        chmod 555 "$d/rw2"
        sleep 1
        kill -TERM "$pid"
        wait "$pid"
        rc=$?
        chmod 755 "$d/rw2"
        expect "a state directory made read-only while running: one warning, exit 1 with the count" \
                '[ $rc -eq 1 ] && [ "$(grep -c "cannot write the state file" "$d/err")" = 1 ] && grep -q "writes of the state file or the decision log failed" "$d/err"'
        chmod 700 "$d"
elif ! command -v setpriv >/dev/null || [ "$(id -u)" != 0 ]; then
        bad "needs root and setpriv to run isched as an unprivileged user (read-only directories)"
fi

# ---- the metrics file ----
run --pool Pool-0 "${fast[@]}" --steps 6 --state-dir "$d/s9" --metrics "$d/isched.prom"
expect "metrics: written, mode 644 for node_exporter" '[ $rc -eq 0 ] && [ "$(stat -c %a "$d/isched.prom")" = 644 ]'
expect "metrics: the arrangement in force is 1, the others 0" \
        '[ "$(grep -c "^intellisched_arrangement{pool=\"Pool-0\",arrangement=\"[a-z]*\"} 1$" "$d/isched.prom")" = 1 ] &&
         [ "$(grep -c "^intellisched_arrangement{pool=\"Pool-0\",arrangement=\"[a-z]*\"} 0$" "$d/isched.prom")" = 4 ]'
expect "metrics: epochs, switches, skipped windows, mode, takeover" \
        'grep -q "^intellisched_epochs_total{pool=\"Pool-0\"} 6$" "$d/isched.prom" &&
         grep -q "^intellisched_switches_total{pool=\"Pool-0\"} [0-9]" "$d/isched.prom" &&
         grep -q "^intellisched_skipped_windows_total{pool=\"Pool-0\"} 0$" "$d/isched.prom" &&
         grep -q "^intellisched_mode{pool=\"Pool-0\",mode=\"stopped\"} 1$" "$d/isched.prom" &&
         grep -q "^intellisched_up{pool=\"Pool-0\"} 0$" "$d/isched.prom" &&
         grep -q "^intellisched_takeover_arrangement{pool=\"Pool-0\",arrangement=\"[a-z]*\"} 1$" "$d/isched.prom"'
expect "metrics: the baseline, the estimated gain against it and the budget" \
        'grep -q "^intellisched_baseline_arrangement{pool=\"Pool-0\",arrangement=\"[a-z]*\"} 1$" "$d/isched.prom" &&
         grep -q "^intellisched_estimated_gain{pool=\"Pool-0\"} [-0-9.eNa]*$" "$d/isched.prom" &&
         grep -q "^intellisched_budget_spent{pool=\"Pool-0\"} [-0-9.e]*$" "$d/isched.prom"'
expect "metrics: every sample line is name{labels} value" \
        '! grep -v "^#" "$d/isched.prom" | grep -qv "^intellisched_[a-z_]*{[^}]*} [-+0-9.eNa]*$"'

# ---- size limits ----
run --pool Pool-0 "${fast[@]}" --steps 60 --state-dir "$d/s10" --log "$d/small.jsonl" --log-max-size 8K \
        --record "$d/small.trace" --record-max-size 16K
expect "the decision log stays under --log-max-size, the full one kept as .1" \
        '[ $rc -eq 0 ] && [ "$(stat -c %s "$d/small.jsonl.1")" -le 8192 ] && [ "$(stat -c %s "$d/small.jsonl")" -le 8192 ]'
expect "the trace stops at --record-max-size, said once" \
        '[ "$(stat -c %s "$d/small.trace")" -le 16384 ] && [ "$(grep -c "recording the trace stopped" "$d/err")" = 1 ]'
run --pool Pool-0 --backend replay --trace "$d/small.trace" --state-dir "$d/s11"
expect "a trace cut at its limit still replays" '[ $rc -eq 0 ] && grep -q "replay trace has ended" "$d/out"'

# ---- names from elsewhere are never echoed raw to a terminal ----
esc=$(printf '\033')
cat >"$d/escape.json" <<EOF
{"topology": "1n1s2c2t", "pools": [ { "name": "Pool-0", "cpus": 2 }, { "name": "evil${esc}[31mpool" } ],
 "domains": [ {"name": "a", "vcpus": 2, "behaviour": {"kind": "cpu"}},
              {"name": "b", "pool": "evil${esc}[31mpool", "vcpus": 2, "behaviour": {"kind": "cpu"}} ]}
EOF
"$I" pools --workload "$d/escape.json" >"$d/out" 2>"$d/err"
expect "pools: a control character in a pool name is shown as \\x1b" \
        'grep -qF "evil\x1b[31mpool" "$d/out" && ! grep -q "$esc" "$d/out"'
run --workload "$d/escape.json" --pool "evil${esc}[31mpool" "${fast[@]}" --steps 3 --state-dir "$d/s12"
expect "run: the same in its report lines" '[ $rc -eq 0 ] && grep -qF "evil\x1b" "$d/out" && ! grep -q "$esc" "$d/out"'
"$I" explain --pool Pool-0 --model "$d/m.json" >"$d/out" 2>"$d/err"
expect "explain --pool with --model: refused, not one silently preferred" \
        '[ $? -eq 2 ] && grep -q "exclude each other" "$d/err"'

# ---- eval: degenerate propensities, models validated as run does ----
run --pool Pool-0 "${fast[@]}" --steps 30 --policy egreedy --epsilon 0.3 --state-dir "$d/s13" --log "$d/eval.jsonl"
python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
lines[3]["propensity"] = 1e-300
for l in lines:
    print(json.dumps(l))' "$d/eval.jsonl" >"$d/tiny.jsonl"
"$I" eval --log "$d/tiny.jsonl" --policy egreedy >"$d/out" 2>"$d/err"
expect "eval: a propensity of 1e-300 is refused, naming the line and why" \
        '[ $? -eq 2 ] && grep -q "tiny.jsonl:4: propensity 1e-300 is below" "$d/err"'
"$I" eval --log "$d/eval.jsonl" --policy egreedy --json >"$d/out" 2>"$d/err"
finite='import json, sys, math
d = json.load(open(sys.argv[1]))
sys.exit(not all(isinstance(d[k][m], (int, float)) and math.isfinite(d[k][m])
                 for k in ("logged", "ips", "dr") for m in ("value", "ci_low", "ci_high")))'
expect "eval: every estimate of a sound log is finite" '[ $? -eq 0 ] && python3 -c "$finite" "$d/out"'
python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
m["context"]["normaliser"]["count"] = -5
print(json.dumps(m))' "$d/m.json" >"$d/badctx.json"
"$I" run --no-config --pool Pool-0 --steps 2 --state-dir "$d/s14" --model "$d/badctx.json" >/dev/null 2>"$d/err.run"
rc_run=$?
"$I" eval --log "$d/eval.jsonl" --model "$d/badctx.json" >/dev/null 2>"$d/err"
expect "eval --model refuses a model with a corrupt context section, as run does" \
        '[ $? -eq 2 ] && [ $rc_run -eq 2 ] && grep -q "context" "$d/err"'

# ---- the message findings of sim, eval and replay ----
"$I" sim -h >"$d/out" 2>"$d/err"
expect "sim -h prints sim's help" '[ $? -eq 0 ] && grep -q "^Usage: isched sim" "$d/out"'
"$I" sim -x >"$d/out" 2>"$d/err"
expect "sim -x is an unknown option, not one that needs a value" '[ $? -eq 2 ] && grep -q "unknown option '"'"'-x'"'"'" "$d/err"'
"$I" sim --list --json >"$d/out" 2>"$d/err"
expect "sim --list --json: refused, not text printed as if JSON" '[ $? -eq 2 ] && grep -q "list takes no other option" "$d/err"'
"$I" sim --duration 1 --warmup 0.0 --json >"$d/out" 2>"$d/err"
expect "sim --warmup 0.0 works like 0" '[ $? -eq 0 ]'
"$I" run --no-config --pool Pool-0 --backend replay >"$d/out" 2>"$d/err"
expect "replay without --trace points to run --record, which exists" \
        '[ $? -eq 2 ] && grep -q "isched run --record" "$d/err" && ! grep -q "sim --trace" "$d/err"'
"$I" eval --log "$d/log.jsonl" --policy linucb --policy lints >"$d/out" 2>"$d/err"
expect "eval --policy twice: refused, not the last one silently used" '[ $? -eq 2 ] && grep -q "given twice" "$d/err"'
# A log eval can estimate on (the signal test's log above is a few rounds of
# the safety layer's, which eval refuses: too small an effective sample).
arms=(cpu core socket node)
for i in $(seq 1 40); do
        printf '{"schema":"isched-decision-v3","pool":"Pool-0","epoch":%d,"x":[1,0.%d],"arm":"%s","propensity":0.25,' \
                "$i" $((i % 7)) "${arms[$((i % 4))]}"
        printf '"arms_enabled":["cpu","core","socket","node"],"reward":0.%d,"window_score":10.%d,"reason":"explore",' \
                $((i % 5)) $((i % 9))
        printf '"learned_epoch":%d}\n' $((i + 1))
done >"$d/uniform.jsonl"
"$I" eval --log "$d/uniform.jsonl" --policy uniform >/dev/null 2>"$d/err"
expect "eval of a uniform logger's log (for the next check)" '[ $? -eq 0 ]'
"$I" eval --log "$d/uniform.jsonl" --policy uniform >/dev/full 2>"$d/err"
expect "eval > /dev/full: exit 1" '[ $? -eq 1 ] && grep -q "cannot write" "$d/err"'
cp "$d/sig.json" "$d/other.json"
"$I" run --no-config --pool Pool-0 "${fast[@]}" --steps 2 --state-dir "$d/s15" --model "$d/other.json" >/dev/null 2>&1
"$I" model merge "$d/sig.json" "$d/other.json" -o "$d/merged.json" --json >/dev/full 2>"$d/err"
expect "model merge --json > /dev/full: exit 1" '[ $? -eq 1 ] && grep -q "cannot write" "$d/err"'

# ---- every key documented, and in the example configuration ----
src=${SRCDIR:-$(dirname "$0")/../..}
keys=$("$I" run --no-config --show-config | sed -n 's/^\(# \)\?\([a-z-]*\) \(=\|(not set)\).*/\2/p')
expect "show-config lists the keys" '[ "$(echo "$keys" | wc -w)" -ge 30 ]'
for k in $keys; do
        expect "key $k is in docs/configuration.md" 'grep -q "\`$k\`" "$src/docs/configuration.md"'
        case $k in steps | duration) continue ;; esac
        expect "key $k is in the example configuration" 'grep -q "^#\?$k = " "$src/service/intellisched.conf"'
done
"$I" run --config "$src/service/intellisched.conf" --show-config >/dev/null 2>"$d/err"
expect "the example configuration is valid" '[ $? -eq 0 ]'

t_done

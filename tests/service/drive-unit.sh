#!/bin/bash
# Run the installed intellisched.service's ExecStart the way systemd runs
# it, and its ExecReload and stop the way systemd sends them: inside a
# private mount namespace with a private /run (made by test-service.sh),
# with the unit's UMask, WorkingDirectory and RuntimeDirectory, NOTIFY_SOCKET
# and the journal's socket served by sd-listener.py, JOURNAL_STREAM naming
# standard error, SIGHUP for reload (the unit's own ExecReload line) and
# SIGTERM for stop, bounded by TimeoutStopSec.  The one change to the
# command line: the configuration file, a copy of the installed one set to
# the simulator, is read from the test's directory; and LD_LIBRARY_PATH
# finds the library in DESTDIR (the caller sets it).
# Usage: drive-unit.sh DESTDIR WORKDIR UNIT-FILE LISTENER
set -u
D=$1 d=$2 unit=$3 listener=$4
fail=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }
expect() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
key() { sed -n "s/^$1=//p" "$unit" | head -1; }
wait_exists() { # file
        for _ in $(seq 1 600); do
                [ -e "$1" ] && return 0
                sleep 0.1
        done
        return 1
}
wait_for() { # file pattern (bounded by attempts, not time)
        for _ in $(seq 1 600); do
                grep -q -- "$2" "$1" 2>/dev/null && return 0
                sleep 0.1
        done
        return 1
}
wait_until() { # shell condition (bounded by attempts, not time)
        for _ in $(seq 1 600); do
                eval "$1" && return 0
                sleep 0.1
        done
        return 1
}
json_count() { # file python-condition-on-r
        python3 -c "import json,sys; print(sum(1 for l in open(sys.argv[1]) for r in [json.loads(l)] if $2))" "$1" \
                2>/dev/null || echo 0
}

exec_start=$(key ExecStart)
exec_reload=$(key ExecReload)
umask_=$(key UMask)
stop_timeout=$(key TimeoutStopSec)
runtime_dir=/run/$(key RuntimeDirectory)
installed_config=$(echo "$exec_start" | sed -n 's/.*--config \([^ ]*\).*/\1/p')
expect "the unit runs isched run with its configuration file" \
        '[ -n "$exec_start" ] && [ -n "$installed_config" ] && [ -x "$D${exec_start%% *}" ]'

# The installed configuration, set to the simulator and to fast epochs.
sed -e 's/^backend = xen$/backend = sim/' -e 's/^epoch = 10$/epoch = 0.5\ninterval = 0.25/' \
        -e 's/^min-dwell = 300$/min-dwell = 0/' -e 's/^max-switches-per-hour = 6$/max-switches-per-hour = 0/' \
        -e "s|^model = .*|model = $d/state/%p.model.json|" -e "s|^log = .*|log = $d/logs/decisions.jsonl|" \
        -e "s|^#metrics = .*|metrics = $d/metrics/intellisched.prom|" "$D$installed_config" >"$d/intellisched.conf"
mkdir -p "$d/state" "$d/logs" "$d/metrics"
chmod 700 "$d/state" "$d/logs"
cmd=${exec_start/$installed_config/$d/intellisched.conf}
bin=$D${exec_start%% *}

# What systemd sets up before ExecStart.
mkdir -p "$runtime_dir"
chmod "$(key RuntimeDirectoryMode)" "$runtime_dir"
python3 "$listener" /run/notify.sock /run/systemd/journal/socket "$d" &
listener_pid=$!
wait_exists "$d/listening"
: >"$d/stream"
# shellcheck disable=SC2012
stream=$(stat -c '%d:%i' "$d/stream")
(
        cd / || exit 1
        umask "$umask_"
        export NOTIFY_SOCKET=/run/notify.sock JOURNAL_STREAM=$stream
        # shellcheck disable=SC2086
        exec "$D"$cmd >>"$d/stream" 2>&1
) &
main_pid=$!

wait_for "$d/notify.jsonl" "READY=1"
expect "Type=notify: READY=1 once the agents have started" 'grep -q "READY=1" "$d/notify.jsonl"'
wait_for "$d/notify.jsonl" "STATUS=Pool-0: active .*[1-9][0-9]* epochs"
expect "STATUS= reports the pool after each epoch" 'grep -q "STATUS=Pool-0: active" "$d/notify.jsonl"'
"$bin" status --json >"$d/status.json" 2>&1
expect "isched status (default directories): the pool's agent is running with the unit's pid" \
        'python3 -c "import json,sys; p=[p for p in json.load(open(sys.argv[1]))[\"pools\"] if p[\"state_file\"].startswith(\"$runtime_dir/\")][0]; sys.exit(not (p[\"agent\"]==\"running\" and p[\"pid\"]==$main_pid))" "$d/status.json"'
expect "the simulator's state is in the RuntimeDirectory" '[ -f "$runtime_dir/sim/Pool-0.state.json" ]'

# The journal: every message native, with its priority and the pool's fields.
wait_for "$d/journal.jsonl" '"PRIORITY": "5"'
expect "journald: messages carry PRIORITY, SYSLOG_IDENTIFIER and MESSAGE" \
        '[ "$(json_count "$d/journal.jsonl" "r.get(\"SYSLOG_IDENTIFIER\")==\"isched\" and \"PRIORITY\" in r and \"MESSAGE\" in r")" -ge 2 ]'
expect "journald: a switch is a notice with ISCHED_POOL and ISCHED_ARRANGEMENT" \
        '[ "$(json_count "$d/journal.jsonl" "r.get(\"PRIORITY\")==\"5\" and r.get(\"ISCHED_POOL\")==\"Pool-0\" and r.get(\"ISCHED_ARRANGEMENT\") in (\"cpu\",\"core\",\"socket\",\"node\",\"all\") and \"->\" in r[\"MESSAGE\"]")" -ge 1 ]'
expect "journald: nothing went to the stream while the journal takes the messages" '[ ! -s "$d/stream" ]'

# Logrotate with the installed file (its path set to the test's logs).
wait_for "$d/logs/decisions.jsonl" '"reward"'
sed "s|/var/log/intellisched|$d/logs|" "$D/etc/logrotate.d/intellisched" >"$d/logrotate.conf"
lines_before=$(wc -l <"$d/logs/decisions.jsonl")
logrotate -f -s "$d/logrotate.state" "$d/logrotate.conf" 2>"$d/logrotate.err"
expect "logrotate with the installed file rotates the decision log" \
        '[ $? -eq 0 ] && [ -s "$d/logs/decisions.jsonl.1" ] && [ "$(wc -l <"$d/logs/decisions.jsonl.1")" -ge "$lines_before" ]'
wait_for "$d/logs/decisions.jsonl" '"reward"'
expect "after rotation the agent writes a new log, mode 0600 under UMask" \
        '[ -s "$d/logs/decisions.jsonl" ] && [ "$(stat -c %a "$d/logs/decisions.jsonl")" = 600 ]'

# ExecReload, exactly as the unit says.
reload=${exec_reload//\$MAINPID/$main_pid}
# shellcheck disable=SC2086
$reload
wait_for "$d/journal.jsonl" "reloaded: logs reopened"
# READY=1 follows the journal message on another socket: wait for it too
# (checking at once failed when the listener was slower than the journal).
wait_until '[ "$(grep -c "READY=1" "$d/notify.jsonl")" -ge 2 ]'
expect "ExecReload: RELOADING=1 then READY=1, the agent goes on" \
        'grep -q "RELOADING=1" "$d/notify.jsonl" && [ "$(grep -c "READY=1" "$d/notify.jsonl")" -ge 2 ] && kill -0 $main_pid'
expect "metrics: mode 0644 for node_exporter under UMask $umask_" \
        '[ "$(stat -c %a "$d/metrics/intellisched.prom")" = 644 ] && grep -q "^intellisched_up{pool=\"Pool-0\"} 1$" "$d/metrics/intellisched.prom"'

# Stop: SIGTERM, then at most TimeoutStopSec.
kill -TERM "$main_pid"
rc=124
for _ in $(seq 1 $((stop_timeout * 10))); do
        if ! kill -0 "$main_pid" 2>/dev/null; then
                wait "$main_pid"
                rc=$?
                break
        fi
        sleep 0.1
done
expect "stop: exit 0 within TimeoutStopSec=$stop_timeout" '[ $rc -eq 0 ]'
expect "stop: STOPPING=1" 'grep -q "STOPPING=1" "$d/notify.jsonl"'
expect "stop: the model is saved" '[ -s "$d/state/Pool-0.model.json" ]'
expect "stop: the pool is back on its takeover arrangement" \
        'python3 -c "import json,sys; s=json.load(open(sys.argv[1])); sys.exit(not (s[\"mode\"]==\"stopped\" and s[\"arrangement\"]==s[\"takeover_arrangement\"]))" "$runtime_dir/sim/Pool-0.state.json"'
"$bin" status >"$d/status.txt" 2>&1
expect "isched status: the agent is stopped" 'grep -q "^Pool-0 *sim *stopped " "$d/status.txt"'
expect "the summary went to the journal" \
        '[ "$(json_count "$d/journal.jsonl" "\"summary\" in r.get(\"MESSAGE\",\"\")")" -ge 1 ]'

kill "$listener_pid" 2>/dev/null
wait "$listener_pid" 2>/dev/null
exit $fail

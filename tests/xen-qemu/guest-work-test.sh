#!/bin/sh
# guest-work-test.sh - issue 15's end-to-end check (docs/guest-work.md), run
# by dom0-test.sh in the dom0 of the patched boot (busybox sh):
#
#   guest-work-test.sh [PUB_NAME PUB_DOMID [SILENT_NAME SILENT_DOMID]]
#
# The publisher is a domain of Pool-0: the PV guest PUB_NAME (domid
# PUB_DOMID), booted with isched_publish=1, whose guest.d/70-isched-guest.sh
# runs a work loop and `isched-guest --file` on this test's commands (its
# data/e2e/ctl, answered in data/e2e/ack); without arguments (the e2e run
# without guests) Domain-0 itself, which writes its own
# /local/domain/0/data/intellisched/ as a domU would.  SILENT_NAME, a second
# domain of Pool-0, never publishes (Domain-0 is a third one when the
# publisher is a domU).  The xen backend reads the publications of every
# domain the hypervisor lists in the pool (xc_domain_getinfolist) at
# /local/domain/<domid>/data/intellisched/ through xenstored's socket.  One
# real agent (isched run --backend xen --observation xen+guests on Pool-0)
# runs through these phases:
#   GW_ABSENT     no publication yet: the publisher is absent, no window is
#                 scored
#   GW_LIVE       publishing: the publisher live, the latest window's
#                 throughput is guest-work from 1 domain
#   GW_SILENT     (with SILENT_DOMID) the domain that never publishes is
#                 absent while the publisher is live, has no rate and no
#                 share, and the publisher has the whole share: not counted
#                 as zero work, not diluting nor dominating the sum
#   GW_STALE      the publisher killed (SIGKILL: its nodes stay): stale, the
#                 window across it dropped, no window scored until it is back
#   GW_BACKWARDS  the application's count set back to half of what it was
#                 (a reset) while the publisher goes on publishing it:
#                 refused as "went backwards"; counted again from that value
#   GW_WINDOWS    from the agent's own trace (--record) and decision log
#                 (--log): every decision was taken on a window whose two
#                 snapshots carry guest-published work of the same
#                 generation, so no window across a fault was scored or
#                 learned; each fault changed the generation and dropped
#                 the decision waiting for that window; the agent learned
#   GW_SUM        the pool's work in the trace grew at the rate the
#                 publisher published
# Prints "@@ PASS NAME ..." or "@@ FAIL NAME: why" for each (the host side
# requires every one); exit status 0 iff none failed.
PUB_NAME=${1:-Domain-0} PUB_DOMID=${2:-0} SILENT_NAME=${3:-} SILENT_DOMID=${4:-}
S=/tmp/guest-work
D=/local/domain/$PUB_DOMID/data/intellisched
STATE=$S/state/Pool-0.state.json
FAIL=0
pass() { echo "@@ PASS $* [t=$(cut -d" " -f1 /proc/uptime)]"; }
fail() { echo "@@ FAIL $*"; FAIL=1; }
info() { echo "@@ INFO $*"; }
# CLOCK_MONOTONIC in ns, rounded up to /proc/uptime's 10 ms (no suspend in
# this dom0: uptime runs with the monotonic clock).
now_ns() { cs=$(sed 's/ .*//; s/\.//' /proc/uptime); echo $(( (cs + 1) * 10000000 )); }
# A domain's entry in the "guests" of an explain document, flat.
entry_of() { tr -d '\n\t' < "$2" | sed -n "s/.*{\(\"domid\":$1,[^}]*\)}.*/\1/p"; }
pub_entry() { entry_of $PUB_DOMID "$1"; }
# Every xenstore access is bounded: a xenstored that stops answering (or a
# stuck dom0 kernel) makes the check fail with a message, never hang.
xs() { timeout 10 xenstore-"$@" 2>/dev/null; }
up_s() { cut -d. -f1 /proc/uptime; }
# What the agent was doing, for a check that gave up waiting.
agent_info() {
        info "agent $(kill -0 $AGENT 2>/dev/null && echo alive || echo gone), state file $(( $(date +%s) - $(date -r $STATE +%s 2>/dev/null || echo 0) )) s old, publication '$(pub_read)'; the agent's last lines:"
        tail -3 $S/run.err
}
# fld NAME < flat entry: a member's value (a string without its quotes).
# null first: the number's alternative also matches the empty string, and
# busybox sed took that one, so a null read as "" (GW_SILENT could not pass).
fld() { sed -n -e "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" -e "t" -e "s/.*\"$1\":\(null\|[0-9.e+-][0-9.e+-]*\).*/\1/p"; }
# wait_pub STATE_OR_FAULT_REGEX SECONDS: poll the agent's state file until
# the publisher's entry matches, for SECONDS of dom0's clock (not a count
# of polls, which a loaded dom0 stretches); status 0 if it did.
wait_pub() {
        end=$(( $(up_s) + $2 ))
        while :; do
                [ -f $STATE ] && pub_entry $STATE | grep -q "$1" && return 0
                [ $(up_s) -lt $end ] || break
                sleep 0.25
        done
        info "waited $2 s for '$1' in $PUB_NAME's entry"
        agent_info
        return 1
}
explain() { # the agent's explain document, flat, into $S/explain-$1.json
        timeout 60 isched explain --pool Pool-0 --state-dir $S/state > $S/explain-$1.json 2>&1
}
window_of() { tr -d '\n\t' < "$1" | sed -n 's/.*"window_throughput":{\([^}]*\)}.*/\1/p'; }
# The publication (work, the publisher's time_ns) and dom0's clock at the
# read.  Both nodes in one xenstore-read: with more than one key it reads
# them in one transaction, so they are of one publication.  (Three reads,
# time_ns before and after work, took longer under emulation than the
# publisher's 0.25 s interval and never agreed.)  "- -" if that failed 3
# times.
pub_read() {
        for a in 1 2 3; do
                set -- $(xs read $D/work $D/time_ns)
                [ $# = 2 ] && { echo "$1 $2 $(now_ns)"; return; }
        done
        echo "- - $(now_ns)"
}

# ---- the publisher: the work loop and isched-guest ----
# pub_ctl VERB (start, kill, back, stop: see guest.d/70-isched-guest.sh).
# In a domU the verb goes to the guest's data/e2e/ctl and the guest's answer
# is awaited (up to 60 s); in Domain-0 the same is done here.  "back" sets
# W and BACK (the count before and after).  Status 0 if done.
SEQ=0
pub_ctl() {
        if [ "$PUB_DOMID" != 0 ]; then
                SEQ=$((SEQ + 1))
                xs write /local/domain/$PUB_DOMID/data/e2e/ctl "$SEQ $1" || { info "cannot write $PUB_NAME's ctl"; return 1; }
                t0=$(cut -d. -f1 /proc/uptime)
                while :; do
                        ack=$(xs read /local/domain/$PUB_DOMID/data/e2e/ack)
                        case $ack in "$SEQ $1"*) break ;; esac
                        [ $(( $(cut -d. -f1 /proc/uptime) - t0 )) -lt 60 ] || { info "$PUB_NAME did not do '$1': ack '$ack'"; return 1; }
                        sleep 0.2
                done
                case $ack in *isched-guest:*) info "$PUB_NAME: ${ack#*isched-guest:}" ;; esac
                [ "$1" = back ] && set -- ${ack#"$SEQ back "} && W=$1 BACK=${2%;}
                return 0
        fi
        case $1 in
        start)  [ -n "$WORKER" ] || start_worker
                isched-guest --file $S/work --interval 0.25 2>>$S/publisher.err &
                PUBPID=$! ;;
        kill)   kill -KILL $PUBPID; wait $PUBPID 2>/dev/null ;;
        back)   kill $WORKER; wait $WORKER 2>/dev/null
                W=$(cat $S/work) BACK=$(($(cat $S/work) / 2))
                echo $BACK > $S/work.tmp; mv $S/work.tmp $S/work
                start_worker ;;
        stop)   kill -TERM $PUBPID; wait $PUBPID 2>/dev/null   # SIGTERM: isched-guest removes its nodes
                touch $S/stop; wait $WORKER 2>/dev/null ;;
        esac
}
# Domain-0's work loop: a work unit is a fixed amount of shell arithmetic;
# the count goes to a file by rename, so the publisher never reads half a
# number.
WORKER=
start_worker() { # from the count in $S/work
        (
                n=$(cat $S/work)
                while [ ! -f $S/stop ]; do
                        i=0; while [ $i -lt 20 ]; do i=$((i + 1)); done
                        n=$((n + 1)); echo $n > $S/work.tmp; mv $S/work.tmp $S/work
                done
        ) &
        WORKER=$!
}

rm -rf $S; mkdir -p $S/state
echo 0 > $S/work
xs rm $D
info "publisher: $PUB_NAME (domid $PUB_DOMID); never publishing: ${SILENT_NAME:-none} ${SILENT_DOMID}"
T0=$(cut -d' ' -f1 /proc/uptime)
# One decision per interval: each window is two consecutive snapshots of
# the trace, which is what GW_WINDOWS checks.
isched run --backend xen --pool Pool-0 --observation xen+guests --interval 1 --epoch 1 --settle 0 \
        --no-prior --verbose --json --state-dir $S/state --log $S/decisions.jsonl --record $S/trace.jsonl \
        > $S/run.json 2> $S/run.err &
AGENT=$!
i=0; until [ -f $STATE ] || [ $i -ge 120 ]; do sleep 0.5; i=$((i + 1)); done
sleep 2

# ---- never published: absent, nothing scored ----
explain absent
e=$(pub_entry $S/explain-absent.json)
if [ "$(echo "$e" | fld state)" = absent ] && [ "$(echo "$e" | fld name)" = "$PUB_NAME" ] &&
   ! [ -s $S/decisions.jsonl ] && grep -q "no guest of the pool published valid work" $S/run.err; then
        pass GW_ABSENT "$e; windows skipped: $(grep -c 'no guest of the pool published valid work' $S/run.err)"
else
        fail "GW_ABSENT: expected $PUB_NAME absent and no decision before any publication: '$e'; decisions $(wc -l < $S/decisions.jsonl 2>/dev/null)"
        tail -5 $S/run.err
fi

# ---- publishing: live ----
pub_ctl start || fail "GW_LIVE: $PUB_NAME did not start its publisher"
if wait_pub '"state":"live"' 60; then
        sleep 1
        A=$(pub_read); sleep 6
        explain live
        e=$(pub_entry $S/explain-live.json) w=$(window_of $S/explain-live.json)
        if [ "$(echo "$e" | fld state)" = live ] && [ "$(echo "$e" | fld share)" = 1 ] &&
           echo "$w" | grep -q '"source":"guest-work","work_domains":1$'; then
                pass GW_LIVE "$e; window_throughput {$w}"
        else
                fail "GW_LIVE: expected $PUB_NAME live with share 1 and the window's throughput from 1 guest: '$e'; window '$w'"
        fi
        # The domain that never publishes, beside a live one.
        if [ -n "$SILENT_DOMID" ]; then
                e2=$(entry_of $SILENT_DOMID $S/explain-live.json)
                if [ "$(echo "$e2" | fld state)" = absent ] && [ "$(echo "$e2" | fld name)" = "$SILENT_NAME" ] &&
                   [ "$(echo "$e2" | fld rate_per_s)" = null ] && [ "$(echo "$e2" | fld faults)" = 0 ] &&
                   [ "$(echo "$e2" | fld share)" != 1 ] && [ "$(echo "$e" | fld share)" = 1 ] &&
                   echo "$w" | grep -q '"work_domains":1$'; then
                        pass GW_SILENT "$e2; beside $PUB_NAME's share $(echo "$e" | fld share), window from 1 domain"
                else
                        fail "GW_SILENT: expected $SILENT_NAME absent, without rate or share, beside $PUB_NAME with the whole share: '$e2'; '$e'; window '$w'"
                fi
        fi
else
        fail "GW_LIVE: $PUB_NAME not live within 60 s of starting isched-guest: $(pub_entry $STATE)"
        [ -n "$SILENT_DOMID" ] && fail "GW_SILENT: not checked, $PUB_NAME never became live"
        cat $S/publisher.err 2>/dev/null; tail -5 $S/run.err
fi

# ---- the publisher stops: stale ----
# GW_SUM's span ends here: from A (live) to B all is live, and the longer
# the span, the less the whole work units at its ends weigh.
[ -n "$A" ] && B=$(pub_read)
pub_ctl kill
T_KILL=$(cut -d' ' -f1 /proc/uptime)
if wait_pub '"fault":"stale"' 30; then
        sleep 2
        explain stale
        e=$(pub_entry $S/explain-stale.json)
        pub_ctl start
        if [ "$(echo "$e" | fld state)" = fault ] && echo "$e" | grep -q '"reason":"no new publication' &&
           grep -q "$PUB_NAME ($PUB_DOMID) stale" $S/run.err && wait_pub '"state":"live"' 60; then
                pass GW_STALE "killed at t=$T_KILL: $e; live again after restarting"
        else
                fail "GW_STALE: expected $PUB_NAME refused as stale (and live after a restart): '$e', now '$(pub_entry $STATE)'"
        fi
        sleep 3
else
        fail "GW_STALE: $PUB_NAME not stale within 30 s of killing its publisher: $(pub_entry $STATE)"
        pub_ctl start
        sleep 3
fi

# ---- a counter that goes backwards ----
# The application's count drops to half (a reset, or a lie) and goes on
# from there, while the publisher goes on publishing every 0.25 s: the
# agent (one read a second) sees work W' -> B' with W' <= W the last count
# it accepted and B' >= B = W/2, never a stale publication or a window
# without work in between.  (Writing the counter by hand instead raced with
# the agent: a read between killing the publisher and the write saw a stale
# publication, and after a fault the next publication is a new start, never
# compared with the old one.)
W= BACK=
pub_ctl back
info "the application's count $W -> $BACK at t=$(cut -d' ' -f1 /proc/uptime)"
if [ -n "$W" ] && [ -n "$BACK" ] && wait_pub '"fault":"went backwards"' 30; then
        # The state file is the document explain prints; copied at once,
        # before the next read replaces the entry.
        cp $STATE $S/explain-backwards.json
        e=$(pub_entry $S/explain-backwards.json)
        set -- $(echo "$e" | sed -n 's/.*"reason":"work \([0-9]*\) -> \([0-9]*\) (a reset, or a lie)".*/\1 \2/p')
        from=${1:-0} to=${2:-0}
        if [ $# = 2 ] && [ "$from" -le "$W" ] && [ "$from" -gt "$to" ] && [ "$to" -ge "$BACK" ] && [ "$to" -lt "$W" ] &&
           grep -q "$PUB_NAME ($PUB_DOMID) went backwards" $S/run.err && wait_pub '"state":"live"' 30; then
                pass GW_BACKWARDS "count $W -> $BACK, read as work $from -> $to: $e; live again"
        else
                fail "GW_BACKWARDS: expected 'work W' -> B' (a reset, or a lie)' with W' <= $W, $BACK <= B' < $W, then live again: '$e', now '$(pub_entry $STATE)'"
        fi
        sleep 3
else
        fail "GW_BACKWARDS: count '$W' -> '$BACK' not refused within 30 s: $(pub_entry $STATE), publication $(pub_read)"
fi

# The agent gets 60 s to stop (it reads every second); then SIGKILL, and the
# check fails with what it was doing instead of hanging here.
kill -TERM $AGENT 2>/dev/null
end=$(( $(up_s) + 60 ))
while kill -0 $AGENT 2>/dev/null && [ $(up_s) -lt $end ]; do sleep 0.5; done
if kill -0 $AGENT 2>/dev/null; then
        info "the agent did not stop within 60 s of SIGTERM: killed"
        agent_info
        kill -KILL $AGENT
fi
wait $AGENT; RC=$?
pub_ctl stop
xs rm $D
info "guest-work agent: rc=$RC, $(tr -d '\n\t ' < $S/run.json | grep -o '"epochs":.*"waiting":[0-9]*')"

# ---- every scored window, from the trace and the decision log ----
# Trace record i: timestamp, valid, work_units, generation, domains.  A
# decision at time_s T was taken on the window (record before T, record at
# T): both must have ISCHED_CNT_WORK and ISCHED_CNT_GUEST_WORK (bits 8, 9),
# the same generation and at least one domain, and the work must grow.  Its
# reward window is (record at T, the next one): where the generation
# changes there, the decision waited across a fault and must have been
# dropped for it, not learned (waited_at_fault, dropped_at_fault).
awk -v dlog=$S/decisions.jsonl '
function val(line, key,   k) {
        k = "\"" key "\":"
        if (!match(line, k "\"?[0-9.e+-]+")) return ""
        k = substr(line, RSTART + length(k), RLENGTH - length(k)); gsub(/"/, "", k); return k
}
NR > 1 && /"counters"/ {
        n++; ts[n] = val($0, "timestamp_ns") / 1e9; v = val($0, "valid")
        work[n] = (int(v / 256) % 4 == 3); wu[n] = val($0, "work_units")
        gen[n] = val($0, "work_generation"); dom[n] = val($0, "work_domains")
        if (n > 1 && gen[n] != gen[n - 1]) changes++
        if (!work[n]) nowork++
}
END {
        while ((getline line < dlog) > 0) {
                t = val(line, "time_s"); d++
                if (line ~ /"reward":null/) {
                        if (line ~ /left the pool.s sum during the window/) dropped++
                } else learned++
                for (i = 2; i <= n; i++)
                        if (ts[i] - t < 2e-6 && t - ts[i] < 2e-6) break
                if (i > n) { wbad++; why = why " no snapshot at " t; continue }
                if (!work[i] || !work[i - 1] || gen[i] != gen[i - 1] || dom[i] < 1 || wu[i] + 0 <= wu[i - 1] + 0) {
                        wbad++; why = why " window ending " t " (gen " gen[i - 1] "->" gen[i] ")"
                }
                if (i < n && gen[i + 1] != gen[i]) {
                        waited++
                        if (line !~ /"reward":null/ || line !~ /left the pool.s sum during the window/) {
                                bad++; why = why " decision at " t " not dropped at the fault after it"
                        }
                }
        }
        printf "snapshots=%d without_work=%d generation_changes=%d decisions=%d guest_work_windows=%d learned=%d waited_at_fault=%d dropped_at_fault=%d bad=%d%s\n",
               n, nowork, changes, d, d - wbad, learned, waited, dropped, wbad + bad, why
}' $S/trace.jsonl > $S/windows.txt
r=$(cat $S/windows.txt)
num() { echo "$r" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
if [ "$RC" = 0 ] && [ "$(num bad)" = 0 ] && [ "$(num decisions)" -ge 5 ] && [ "$(num learned)" -ge 1 ] &&
   [ "$(num generation_changes)" -ge 2 ] && [ "$(num waited_at_fault)" -ge 1 ] && [ "$(num without_work)" -ge 2 ]; then
        pass GW_WINDOWS "$r"
else
        fail "GW_WINDOWS: rc=$RC $r"
        tail -20 $S/run.err
fi

# ---- the pool's work is the published work ----
# Published: (work, time_ns) at A and B, at least 6 s apart while live
# (B just before the publisher is killed), the rate on the publisher's
# clock; the pool: the trace's work_units over its snapshots between dom0's
# times of the two reads.  Both are whole units: a slow counter (the domU's
# shell loop made about 1 a second under emulation) is off by up to one
# unit at each end of the span, so within 2 units of the published rate
# over the pool's span passes too, where that span held at least 5.
set -- $A $B
if [ $# = 6 ] && [ "$1" != - ] && [ "$4" != - ]; then
        r=$(awk -v wa=$1 -v pa=$2 -v ta=$3 -v wb=$4 -v pb=$5 -v tb=$6 '
        function val(line, key,   k) {
                k = "\"" key "\":"
                if (!match(line, k "\"?[0-9.e+-]+")) return ""
                k = substr(line, RSTART + length(k), RLENGTH - length(k)); gsub(/"/, "", k); return k
        }
        NR > 1 && /"counters"/ { t = val($0, "timestamp_ns") + 0
                if (t >= ta && t <= tb) { if (!n++) { t0 = t; w0 = val($0, "work_units") }
                                          t1 = t; w1 = val($0, "work_units") } }
        END { if (n < 3 || tb <= ta || pb <= pa || t1 <= t0 || wb <= wa) { print "ratio=0 snapshots=" n " ok=0"; exit }
              pub = (wb - wa) / (pb - pa) * 1e9; pool = (w1 - w0) / (t1 - t0) * 1e9
              want = pub * (t1 - t0) / 1e9; got = w1 - w0; off = got > want ? got - want : want - got
              ok = (pool / pub >= 0.7 && pool / pub <= 1.4) || (want >= 5 && off <= 2)
              printf "ratio=%.3f published=%.2f/s pool=%.2f/s units=%.0f expected=%.1f over %.1f s snapshots=%d ok=%d\n",
                     pool / pub, pub, pool, got, want, (t1 - t0) / 1e9, n, ok }' $S/trace.jsonl)
        if echo "$r" | grep -q " ok=1$"; then
                pass GW_SUM "$r"
        else
                fail "GW_SUM: the pool's work rate is not the published one: $r"
        fi
else
        fail "GW_SUM: no publication read while live (A='$A' B='$B')"
fi
info "guest-work test took $(awk -v a=$T0 -v b=$(cut -d' ' -f1 /proc/uptime) 'BEGIN { printf "%.0f", b - a }') s"
exit $FAIL

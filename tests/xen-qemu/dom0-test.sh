#!/bin/sh
# dom0-test.sh - runs inside the dom0 of the end-to-end test (busybox sh),
# started by the initramfs /init that run-xen-qemu.sh builds.  The mode
# comes from the dom0 kernel command line: isched_mode=patched|stock.
# Every check prints "@@ PASS NAME ..." or "@@ FAIL NAME: why"; the host
# side requires its list of PASS markers.  Exit status 0 iff nothing failed.
MODE=$(sed -n 's/.*isched_mode=\([a-z]*\).*/\1/p' /proc/cmdline)
STRESS=$(sed -n 's/.*isched_stress=\([0-9]*\).*/\1/p' /proc/cmdline)
STRESS=${STRESS:-300}
FAIL=0
OUT=/tmp/out
pass() { echo "@@ PASS $* [t=$(cut -d" " -f1 /proc/uptime)]"; }
fail() { echo "@@ FAIL $*"; FAIL=1; }
info() { echo "@@ INFO $*"; }
# run SECONDS CMD...: output to $OUT and the console, status in RC.
run() {
        t=$1; shift
        echo "@@ CMD $*"
        timeout "$t" "$@" >$OUT 2>&1
        RC=$?
        cat $OUT
        echo "@@ rc=$RC"
        return $RC
}
# field NAME < line: the value of NAME=value in a PROBE line.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" | head -1; }
stat_of() { xenhypfs cat /cpupool/0/credit2-stats 2>/dev/null | sed -n "s/^$1 //p"; }

LOAD_PIDS=
start_load() {
        # Two CPU hogs and two tasks that sleep and wake all the time:
        # busy pCPUs, wakeups, context switches, runqueue waits.  Niced,
        # so that the test itself still gets its share of dom0, and few:
        # all 8 emulated CPUs share one host core (single-threaded TCG).
        for i in 1 2; do sh -c 'while :; do :; done' & LOAD_PIDS="$LOAD_PIDS $!"; done
        for i in 1 2; do sh -c 'while :; do usleep 5000; done' & LOAD_PIDS="$LOAD_PIDS $!"; done
        renice -n 19 -p $LOAD_PIDS >/dev/null
}
stop_load() { [ -n "$LOAD_PIDS" ] && kill $LOAD_PIDS 2>/dev/null; wait 2>/dev/null; LOAD_PIDS=; }

# The number of runqueues of pool 0 in the hypervisor's own 'r' dump.
active_queues() {
        xl dmesg -c >/dev/null
        xl debug-keys r
        sleep 1
        xl dmesg | sed -n 's/.*Active queues: \([0-9]*\).*/\1/p' | head -1
}

check_stock_xl() {
        ok=1
        run 60 xl info || ok=0
        run 60 xl cpupool-list || ok=0
        run 60 xl sched-credit2 || ok=0
        [ $ok = 1 ] && pass XL_STOCK "xl info, cpupool-list, sched-credit2" || fail "XL_STOCK: Debian's xl failed"
}

# ------------------------------------------------------------------ patched
patched_tests() {
        check_stock_xl

        run 60 xen-probe pools
        line=$(grep 'name=Pool-0 ' $OUT)
        if echo "$line" | grep -q 'can_switch=1 rq=8,4,2,1,1 '; then
                pass PROBE_POOLS "$(echo "$line" | field arrangement) rq=8,4,2,1,1"
        else
                fail "PROBE_POOLS: Pool-0 not switchable or wrong runqueue prediction: $line"
        fi

        if run 60 isched pools --backend xen --json && grep -q '"pool":[[:space:]]*"Pool-0"' $OUT &&
           grep -q '"can_switch":[[:space:]]*true' $OUT; then
                pass ISCHED_POOLS
        else
                fail "ISCHED_POOLS: isched pools --backend xen does not list Pool-0 as switchable (rc=$RC)"
        fi
        run 60 isched pools --backend xen

        # Every arrangement through the new interface, checked against
        # the hypervisor's own dump (without load: the dump is long).
        for a in cpu:8 core:4 socket:2 node:1 all:1; do
                arr=${a%:*} want=${a#*:}
                run 60 xen-probe set Pool-0 $arr || { fail "RQ_$arr: setting $arr failed"; continue; }
                predicted=$(grep 'PROBE OK set' $OUT | field nr_runqueues)
                got=$(active_queues)
                run 30 xen-probe counters Pool-0 1
                win=$(grep 'PROBE OK window' $OUT)
                w=$(echo "$win" | field wakeups) c=$(echo "$win" | field cswitch)
                moved=$(( ${w:-0} + ${c:-0} ))
                if [ "$got" = "$want" ] && [ "$predicted" = "$want" ] && [ "$moved" -gt 0 ]; then
                        pass "RQ_$arr=$got (predicted $predicted; in 1 s: $(echo "$win" | cut -d' ' -f9-11))"
                else
                        fail "RQ_$arr: expected $want runqueues, 'r' dump shows '$got', backend predicted '$predicted'; 1 s window: $win"
                fi
        done
        # From here on dom0 is busy: statistics, the agent, the stress run.
        start_load
        run 60 xen-probe counters Pool-0 3
        win=$(grep 'PROBE OK window' $OUT)
        w=$(echo "$win" | field wakeups) c=$(echo "$win" | field cswitch) h=$(echo "$win" | field hist)
        q=$(echo "$win" | field wait_ns)
        if [ -n "$win" ] && [ "$w" -gt 0 ] && [ "$c" -gt 0 ] && [ "$h" -gt 0 ] && [ "$q" -gt 0 ]; then
                pass STATS_MOVE "$win"
        else
                fail "STATS_MOVE: statistics did not move in 3 s under load: $win"
        fi

        # The agent, for real: decisions and switches.
        r0=$(stat_of rearrangements)
        if run 300 isched run --backend xen --pool Pool-0 --steps 10 --interval 0.5 --epoch 1 \
                --min-dwell 0 --max-switches-per-hour 0 --settle 0 --no-safety --no-prior \
                --state-dir /tmp/isched-state \
                --model /tmp/isched-state/pool0.model; then
                r1=$(stat_of rearrangements)
                if [ "${r1:-0}" -gt "${r0:-0}" ]; then
                        pass ISCHED_RUN "rearrangements $r0->$r1"
                else
                        fail "ISCHED_RUN: isched run made no switch (rearrangements $r0->$r1)"
                fi
        else
                fail "ISCHED_RUN: isched run failed (rc=$RC)"
        fi
        if run 60 isched explain --pool Pool-0 --state-dir /tmp/isched-state && head -c 1 $OUT | grep -q '{'; then
                pass ISCHED_EXPLAIN
        else
                fail "ISCHED_EXPLAIN: isched explain --pool Pool-0 did not print JSON (rc=$RC)"
        fi

        # One agent per pool per host, whatever the state directory: a real
        # pool's lock lives in /run/intellisched, so a second isched run on
        # Pool-0 with a state directory of its own is refused.
        isched run --backend xen --pool Pool-0 --steps 100000 --interval 0.5 --epoch 1 --no-prior \
                --state-dir /tmp/isched-lock-a >/tmp/isched-lock-a.out 2>&1 &
        lock_pid=$!
        i=0
        until [ -f /tmp/isched-lock-a/Pool-0.state.json ] || [ $i -ge 120 ]; do sleep 1; i=$((i+1)); done
        if run 60 isched run --backend xen --pool Pool-0 --steps 1 --interval 0.5 --epoch 1 --no-prior \
                --state-dir /tmp/isched-lock-b; then
                fail "POOL_LOCK: a second agent with its own --state-dir ran on Pool-0"
        elif grep -q "already managed by another agent" $OUT && ls /run/intellisched/*.lock >/dev/null 2>&1; then
                pass POOL_LOCK "second agent refused (rc=$RC), lock in /run/intellisched"
        else
                fail "POOL_LOCK: the second agent failed, but not on the pool's lock (rc=$RC)"
        fi
        kill -TERM $lock_pid 2>/dev/null
        wait $lock_pid
        echo "@@ first agent: rc=$?"
        tail -5 /tmp/isched-lock-a.out

        # Stress: hundreds of switches of Pool-0 while a second pool is
        # created, switched and destroyed over and over, dom0 busy.
        echo 0 > /tmp/pool-cycles
        (
                n=0
                while [ ! -f /tmp/stress-done ]; do
                        xl cpupool-cpu-remove Pool-0 6,7 || { sleep 0.2; continue; }
                        if xl cpupool-create name=\"p1\" sched=\"credit2\" cpus=[\"6\",\"7\"]; then
                                # The new pool: named through libxl, switchable, 2 pCPUs.
                                xen-probe pools | grep -q 'name=p1 sched=credit2 pcpus=2 .*can_switch=1' &&
                                        echo x >> /tmp/p1-listed
                                xen-probe set p1 cpu >/dev/null || echo "@@ INFO switching p1 failed"
                                xl sched-credit2 -p p1 >/dev/null
                                xl cpupool-destroy p1 || echo "@@ INFO cpupool-destroy p1 failed"
                        fi
                        xl cpupool-cpu-add Pool-0 6,7 || echo "@@ INFO cpupool-cpu-add failed"
                        n=$((n + 1)); echo $n > /tmp/pool-cycles
                done
        ) &
        POOLER=$!
        run 600 xen-probe cycle Pool-0 "$STRESS"
        probe_rc=$RC
        touch /tmp/stress-done
        wait $POOLER
        cycles=$(cat /tmp/pool-cycles)
        listed=$(cat /tmp/p1-listed 2>/dev/null | wc -l)
        switches=$(grep 'PROBE OK cycle' $OUT | field switches)
        if [ $probe_rc = 0 ] && [ "${switches:-0}" -ge $((STRESS * 2 / 3)) ] && [ "$cycles" -ge 1 ] &&
           [ "$listed" -ge 1 ]; then
                pass STRESS "switches=$switches of $STRESS, second-pool cycles=$cycles (p1 listed switchable $listed times), $(grep 'PROBE OK cycle' $OUT)"
        else
                fail "STRESS: rc=$probe_rc switches=$switches of $STRESS, second-pool cycles=$cycles, p1 listed $listed times"
        fi
        stop_load

        # Everything back where it was, hypervisor healthy.
        xl cpupool-cpu-add Pool-0 6,7 2>/dev/null
        run 60 xl cpupool-list -c
        if grep -q '^Pool-0 .*0-7' $OUT || grep -q '^Pool-0 .*0,1,2,3,4,5,6,7' $OUT; then
                pass POOL_RESTORED
        else
                fail "POOL_RESTORED: Pool-0 does not hold CPUs 0-7 again"
        fi
        run 60 xl sched-credit2 -p Pool-0 || fail "XL_AFTER: xl sched-credit2 failed after the stress run"
        sh /guest-work-test.sh || FAIL=1   # issue 15: guest-published work (its own GW_* markers)
        if xl dmesg | grep -E -q "Assertion|Xen BUG|FATAL|Xen call trace"; then
                fail "NO_ASSERT: the hypervisor log shows an assertion or BUG"
                xl dmesg | grep -E -B2 -A10 "Assertion|Xen BUG|FATAL|Xen call trace"
        else
                pass NO_ASSERT
        fi
}

# -------------------------------------------------------------------- stock
stock_tests() {
        check_stock_xl

        run 60 xen-probe pools
        line=$(grep 'name=Pool-0 ' $OUT)
        if echo "$line" | grep -q 'can_switch=0 ' && echo "$line" | grep -q 'xen-patches not applied'; then
                pass ADVISORY_POOLS "$line"
        else
                fail "ADVISORY_POOLS: expected Pool-0 not switchable with a reason: $line"
        fi
        # Booted with credit2_runqueue=core: the backend must read that
        # from the command line, and its prediction must match the dump.
        arr=$(echo "$line" | field arrangement)
        rq=$(echo "$line" | field rq)
        got=$(active_queues)
        if [ "$arr" = core ] && [ "$(echo "$rq" | cut -d, -f2)" = "$got" ] && [ "$rq" = 8,4,2,1,1 ]; then
                pass STOCK_PREDICT "arrangement=$arr predicted core=$(echo "$rq" | cut -d, -f2) dump=$got"
        else
                fail "STOCK_PREDICT: arrangement=$arr rq=$rq, 'r' dump shows $got runqueues"
        fi

        run 60 xen-probe advisory Pool-0 && pass ADVISORY_SET || fail "ADVISORY_SET: set was not refused with EOPNOTSUPP"

        start_load
        run 60 xen-probe counters Pool-0 2
        win=$(grep 'PROBE OK window' $OUT)
        valid=$(echo "$win" | field valid) b=$(echo "$win" | field busy_ns) g=$(echo "$win" | field guest_ns)
        if [ "$valid" = 0x3 ] && [ "${b:-0}" -gt 0 ] && [ "${g:-0}" -gt 0 ]; then
                pass STOCK_COUNTERS "$win"
        else
                fail "STOCK_COUNTERS: expected busy and guest time only (valid=0x3), both growing under load: $win"
        fi

        if run 60 isched pools --backend xen --json && grep -q '"can_switch":[[:space:]]*false' $OUT &&
           grep -q 'xen-patches not applied' $OUT; then
                pass ISCHED_POOLS_ADVISORY
        else
                fail "ISCHED_POOLS_ADVISORY: isched pools did not say Pool-0 cannot be switched (rc=$RC)"
        fi
        if run 120 isched run --backend xen --pool Pool-0 --steps 3 --interval 0.5 --epoch 1 \
                --state-dir /tmp/isched-state &&
           grep -q -i advisory $OUT; then
                pass ISCHED_RUN_ADVISORY
        else
                fail "ISCHED_RUN_ADVISORY: isched run did not run in advisory mode (rc=$RC)"
        fi
        stop_load
}

echo "@@ INFO mode=$MODE cpus=$(grep -c ^processor /proc/cpuinfo) xen=$(xl info 2>/dev/null | sed -n "s/^xen_version *: //p")"
case $MODE in
patched) patched_tests ;;
stock) stock_tests ;;
*) fail "MODE: unknown isched_mode '$MODE' on the kernel command line" ;;
esac
exit $FAIL

#!/bin/sh
# Issue 15's publisher, in the guest booted with isched_publish=1 (g0):
# a work loop counts work units into /tmp/pub/work and isched-guest
# publishes that count in the guest's data/intellisched/, as an
# application's guest would.  Nothing runs until dom0 says so: dom0's
# guest-work-test.sh drives it through the guest's data/e2e/ctl, a
# command "SEQ VERB", answered in data/e2e/ack as "SEQ VERB [DETAIL]":
#   start  start the work loop (if it is not running) and the publisher
#   kill   SIGKILL the publisher (its nodes stay: dom0 sees it stale)
#   back   set the count back to half of what it is (a reset), the work
#          loop and the publisher going on; DETAIL "W BACK"
#   stop   SIGTERM the publisher (it removes its nodes), stop the work loop
# The command is polled once a second (one process a second: under
# emulation every fork of a PV guest slows the whole machine).  Other
# guests have nothing of this running.
grep -q 'isched_publish=1' /proc/cmdline || exit 0
P=/tmp/pub
mkdir -p $P
echo 0 > $P/work
WORKER= PUB= last=
mkfifo $P/tick; exec 3<> $P/tick   # `read -t` on it: a sleep without a process
# The count is rewritten in place, by the shell itself: a rename per unit
# started a process per unit, which in this PV guest under emulation held
# the loop to about 1 unit a second (the run of 2 December), too slow for
# GW_WINDOWS and GW_SUM.  isched-guest may meet the file just truncated:
# an empty file is no number, that publication is skipped, never a 0.
start_worker() { # from the count in $P/work; a unit is fixed shell arithmetic
        rm -f $P/stop
        (
                n=$(cat $P/work)
                while [ ! -f $P/stop ]; do
                        i=0; while [ $i -lt 20 ]; do i=$((i + 1)); done
                        n=$((n + 1)); echo $n > $P/work
                done
        ) &
        WORKER=$!
}
stop_worker() { touch $P/stop; [ -n "$WORKER" ] && wait $WORKER 2>/dev/null; WORKER=; }
while :; do
        c=$(xenstore-read data/e2e/ctl 2>/dev/null)
        seq=${c%% *} verb=${c#* } detail=
        if [ -n "$c" ] && [ "$seq" != "$last" ]; then
                case $verb in
                start)  [ -n "$WORKER" ] || start_worker
                        isched-guest --file $P/work --interval 0.25 2>>$P/publisher.err &
                        PUB=$! ;;
                kill)   kill -KILL $PUB; wait $PUB 2>/dev/null ;;
                back)   stop_worker
                        w=$(cat $P/work); b=$((w / 2))
                        echo $b > $P/work.tmp; mv $P/work.tmp $P/work
                        start_worker
                        detail=" $w $b" ;;
                stop)   kill -TERM $PUB; wait $PUB 2>/dev/null; stop_worker ;;
                *)      detail=" unknown" ;;
                esac
                [ -s $P/publisher.err ] && detail="$detail; isched-guest: $(tail -1 $P/publisher.err)"
                xenstore-write data/e2e/ack "$seq $verb$detail"
                last=$seq
        fi
        read -t 1 x <&3
done

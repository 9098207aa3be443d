#!/bin/sh
# The guest's work (ISCHED_WORK, comma separated): "cpu", a busy loop, and
# "io", a loop that blocks on dom0 all the time (a xenstore read goes
# through an event channel to dom0's xenstored and waits for the answer),
# with a 2 ms sleep in between.  Progress counters in /tmp/work, /tmp/io.
case ",$ISCHED_WORK," in *,cpu,*)
        (n=0; while :; do n=$((n + 1)); [ $((n % 5000)) = 0 ] && echo $n > /tmp/work; done) & ;;
esac
case ",$ISCHED_WORK," in *,io,*)
        (n=0; while :; do xenstore-read data/e2e/boot >/dev/null; n=$((n + 1)); echo $n > /tmp/io; usleep 2000
         done) & ;;
esac
wait

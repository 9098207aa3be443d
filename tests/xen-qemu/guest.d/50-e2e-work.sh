#!/bin/sh
# The guest's work (ISCHED_WORK, comma separated): "cpu", a busy loop, and
# "io", a loop that blocks all the time: on a 2 ms timer (`read -t` on a
# FIFO nobody writes: no process is started, so the loop is wakeups and
# not fork/exec, which a PV guest pays in page-table hypercalls), and
# every 50th wakeup on dom0 (a xenstore read goes through an event channel
# to dom0's xenstored and waits for the answer).  Progress counters in
# /tmp/work, /tmp/io.  Nothing in the loops starts a process but that
# xenstore read: under QEMU's emulation every fork of a PV guest slows the
# whole machine.
case ",$ISCHED_WORK," in *,cpu,*)
        (n=0; while :; do n=$((n + 1)); [ $((n % 5000)) = 0 ] && echo $n > /tmp/work; done) & ;;
esac
case ",$ISCHED_WORK," in *,io,*)
        mkfifo /tmp/io.fifo
        (exec 3<> /tmp/io.fifo; n=0
         while :; do
                read -t 0.002 x <&3
                n=$((n + 1)); echo $n > /tmp/io
                [ $((n % 50)) = 0 ] && xenstore-read data/e2e/boot >/dev/null
         done) & ;;
esac
wait

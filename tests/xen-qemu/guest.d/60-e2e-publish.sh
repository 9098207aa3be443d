#!/bin/sh
# Every 2 s, the guest's view in its xenstore data/e2e/: uptime (t, s),
# progress of its work (work, io) and its per-vCPU time accounting
# (stat: the cpuN lines of /proc/stat, in USER_HZ ticks: user nice system
# idle iowait irq softirq steal ..., joined with ';').  Steal time is the
# runstate time the vCPU was runnable or offline, from Xen's runstate area.
# Read with the shell's builtins: one process (xenstore-write) per round.
mkfifo /tmp/pub.fifo
exec 3<> /tmp/pub.fifo
while :; do
        read t x < /proc/uptime
        w=0; [ -f /tmp/work ] && read w < /tmp/work
        io=0; [ -f /tmp/io ] && read io < /tmp/io
        st=
        while read l; do case $l in cpu[0-9]*) st="$st$l;" ;; esac; done < /proc/stat
        xenstore-write data/e2e/t "$t" data/e2e/work "$w" data/e2e/io "$io" data/e2e/stat "$st" 2>/dev/null
        read -t 2 x <&3
done

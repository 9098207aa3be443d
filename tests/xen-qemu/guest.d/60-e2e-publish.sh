#!/bin/sh
# Every 2 s, the guest's view in its xenstore data/e2e/: uptime (t, s),
# progress of its work (work, io) and its per-vCPU time accounting
# (stat: the cpuN lines of /proc/stat, in USER_HZ ticks: user nice system
# idle iowait irq softirq steal ..., joined with ';').  Steal time is the
# runstate time the vCPU was runnable or offline, from Xen's runstate area.
# Read with the shell's builtins: one process (xenstore-write) per round.
# The loops rewrite /tmp/work and /tmp/io in place (a rename would start a
# process per iteration), so a read can meet a file just truncated: a
# value that is not a number keeps the last one read.
mkfifo /tmp/pub.fifo
exec 3<> /tmp/pub.fifo
w=0 io=0
while :; do
        read t x < /proc/uptime
        v=; [ -f /tmp/work ] && read v < /tmp/work
        case $v in ''|*[!0-9]*) ;; *) w=$v ;; esac
        v=; [ -f /tmp/io ] && read v < /tmp/io
        case $v in ''|*[!0-9]*) ;; *) io=$v ;; esac
        st=
        while read l; do case $l in cpu[0-9]*) st="$st$l;" ;; esac; done < /proc/stat
        xenstore-write data/e2e/t "$t" data/e2e/work "$w" data/e2e/io "$io" data/e2e/stat "$st" 2>/dev/null
        read -t 2 x <&3
done

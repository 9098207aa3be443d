#!/bin/sh
# Every second, the guest's view in its xenstore data/e2e/: uptime (t, s),
# progress of its work (work, io) and its per-vCPU time accounting
# (stat: the cpuN lines of /proc/stat, in USER_HZ ticks: user nice system
# idle iowait irq softirq steal ..., joined with ';').  Steal time is the
# runstate time the vCPU was runnable or offline, from Xen's runstate area.
while :; do
        xenstore-write data/e2e/t "$(cut -d' ' -f1 /proc/uptime)" \
                data/e2e/work "$(cat /tmp/work 2>/dev/null || echo 0)" \
                data/e2e/io "$(cat /tmp/io 2>/dev/null || echo 0)" \
                data/e2e/stat "$(grep '^cpu[0-9]' /proc/stat | tr '\n' ';')" 2>/dev/null
        sleep 1
done

#!/bin/sh
# guest-init.sh - /init of the small PV guests of the end-to-end test
# (run-xen-qemu.sh builds their initramfs; dom0-test.sh starts them with
# xl create).  It mounts what a guest needs, then starts every executable
# /etc/guest.d/*.sh in the background, each with the guest's kernel command
# line options in its environment (ISCHED_WORK from isched_work=), and
# waits.  To run another program in the guests, add it to GUEST_PROGRAMS
# in run-xen-qemu.sh (it is copied with its libraries) and a script that
# starts it to tests/xen-qemu/guest.d/.
export PATH=/bin:/usr/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp /run && mount -t tmpfs tmpfs /tmp && mount -t tmpfs tmpfs /run
export ISCHED_WORK=$(sed -n 's/.*isched_work=\([a-z,]*\).*/\1/p' /proc/cmdline)
# The guest's own xenstore directory (/local/domain/<id>/): relative paths.
# Its data/ subtree is writable by the guest (libxl creates it so).
i=0
until xenstore-write data/e2e/boot "$(cut -d' ' -f1 /proc/uptime)" 2>/dev/null || [ $i -ge 50 ]; do
        sleep 0.2; i=$((i + 1)); done
echo "guest-init: up after $(cut -d' ' -f1 /proc/uptime) s, work=$ISCHED_WORK, $(grep -c ^processor /proc/cpuinfo) vcpus"
for s in /etc/guest.d/*.sh; do
        [ -x "$s" ] && "$s" &
done
while :; do sleep 3600; done

#!/bin/bash
# run-xen-qemu.sh - intellisched's end-to-end test on a real Xen under QEMU.
#
#   run-xen-qemu.sh SRCDIR BUILDDIR ISCHED XEN_PROBE      (meson passes these)
#
# Boots, in parallel, two machines of 8 CPUs (2 sockets x 2 cores x 2
# threads, -cpu Nehalem, single-threaded TCG, no KVM):
#   patched: the hypervisor built from xen-patches/ (debug=y), running
#            dom0-test.sh in "patched" mode: pools, switching, runqueue
#            counts in the 'r' dump, statistics, isched run/explain, one lock per pool, stress;
#   stock:   Debian's own Xen 4.17 hypervisor (credit2_runqueue=core),
#            running dom0-test.sh in "stock" mode: advisory fallback.
# Everything except QEMU comes from Debian packages fetched with
# `apt-get download` and unpacked with `dpkg -x` (never installed); QEMU is
# installed with apt-get if missing.  The serial logs are kept in the work
# directory and their paths printed; the test fails on any missing marker.
#
# Environment:
#   ISCHED_XEN_QEMU_WORK  work directory (default BUILDDIR/xen-qemu): debs,
#                         unpacked root, initramfs, serial logs
#   ISCHED_XEN_QEMU_BOOTS "patched stock" (default) or one of them
#   ISCHED_XEN_QEMU_STRESS switches in the stress run (default 300)
#   ISCHED_XEN_QEMU_PATCHED_XEN the patched hypervisor ELF32 to boot
#                         (default SRCDIR/xen-patches/work/out/xen-debug)
# Exit: 0 pass, 1 fail, 77 skipped (this machine cannot run QEMU).
set -uo pipefail
[ $# -eq 4 ] || { echo "usage: $0 SRCDIR BUILDDIR ISCHED XEN_PROBE" >&2; exit 2; }
SRC=$(readlink -f "$1") BUILD=$(readlink -f "$2") ISCHED=$(readlink -f "$3") PROBE=$(readlink -f "$4")
W=${ISCHED_XEN_QEMU_WORK:-$BUILD/xen-qemu}
BOOTS=${ISCHED_XEN_QEMU_BOOTS:-patched stock}
STRESS=${ISCHED_XEN_QEMU_STRESS:-300}
HERE=$SRC/tests/xen-qemu
PATCHED_XEN=${ISCHED_XEN_QEMU_PATCHED_XEN:-$SRC/xen-patches/work/out/xen-debug}
PATCHED_XEN=$(readlink -m "$PATCHED_XEN")
T_START=$(date +%s)
say() { printf '[xen-qemu %4ss] %s\n' "$(( $(date +%s) - T_START ))" "$*"; }
skip() { say "SKIP: $*"; exit 77; }
die() { say "FAIL: $*"; exit 1; }

# ---- 0. can this machine run QEMU at all? ----
[ "$(uname -m)" = x86_64 ] || skip "needs an x86_64 host to emulate the x86_64 Xen machine (this is $(uname -m))"
if ! command -v qemu-system-x86_64 >/dev/null; then
        [ "$(id -u)" = 0 ] || skip "qemu-system-x86 is not installed and installing it needs root (run: sudo apt-get install qemu-system-x86)"
        command -v apt-get >/dev/null || skip "qemu-system-x86 is not installed and there is no apt-get"
        say "installing qemu-system-x86"
        apt-get update -qq >/dev/null 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 \
                >"$BUILD/xen-qemu-apt.log" 2>&1 ||
                skip "qemu-system-x86 could not be installed (see $BUILD/xen-qemu-apt.log)"
fi
qemu-system-x86_64 -machine help 2>/dev/null | grep -q '^q35' ||
        skip "qemu-system-x86_64 cannot start here (no q35 machine type)"
command -v apt-get >/dev/null || die "apt-get is needed to fetch Debian's Xen, kernel and busybox packages"
mkdir -p "$W" || die "cannot create the work directory $W"
cd "$W" || die "cannot enter $W"

# ---- 1. Debian packages: downloaded and unpacked, never installed ----
KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$KPKG" ] || { apt-get update -qq >/dev/null 2>&1;
        KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'); }
[ -n "$KPKG" ] || die "cannot find Debian's dom0 kernel package (apt-cache depends linux-image-amd64)"
PKGS="xen-hypervisor-4.17-amd64 xen-utils-4.17 xen-utils-common xenstore-utils libxencall1 libxendevicemodel1
      libxenevtchn1 libxenforeignmemory1 libxengnttab1 libxenhypfs1 libxenmisc4.17 libxenstore4
      libxentoolcore1 libxentoollog1 libyajl2 busybox-static $KPKG"
if [ "$(cat root/.done 2>/dev/null)" != "$(echo $PKGS)" ]; then
        say "downloading Debian packages: $(echo $PKGS)"
        rm -rf debs root; mkdir -p debs root
        if ! (cd debs && apt-get download $PKGS >../apt-download.log 2>&1); then
                apt-get update -qq >/dev/null 2>&1
                (cd debs && apt-get download $PKGS >../apt-download.log 2>&1) ||
                        die "apt-get download failed (see $W/apt-download.log)"
        fi
        for d in debs/*.deb; do dpkg -x "$d" root || die "dpkg -x $d failed"; done
        echo $PKGS > root/.done
fi
R=$W/root
KV=$(ls "$R/lib/modules" | head -1)
KERNEL=$R/boot/vmlinuz-$KV
[ -f "$KERNEL" ] || die "no dom0 kernel in $R/boot"
zcat "$R"/boot/xen-4.17-amd64.gz > xen-debian || die "no Debian hypervisor in the xen-hypervisor package"

# ---- 2. the patched hypervisor ----
# xen-patches/build.sh is idempotent (a no-op when its outputs match the
# series), so it is always called: the hypervisor booted is the one the
# current patches give.  ISCHED_XEN_QEMU_PATCHED_XEN overrides it.
FAILED=()
if [[ " $BOOTS " == *" patched "* ]]; then
        if [ -z "${ISCHED_XEN_QEMU_PATCHED_XEN:-}" ] && [ -x "$SRC/xen-patches/build.sh" ]; then
                say "xen-patches/build.sh (log $W/xen-build.log)"
                "$SRC/xen-patches/build.sh" >"$W/xen-build.log" 2>&1 ||
                        FAILED+=("xen-patches/build.sh failed (see $W/xen-build.log)")
        fi
        if [ ! -f "$PATCHED_XEN" ]; then
                FAILED+=("patched hypervisor $PATCHED_XEN missing (xen-patches/build.sh did not produce it)")
                BOOTS=${BOOTS//patched/}
        fi
fi

# ---- 3. dom0 initramfs: busybox, Xen tools, isched and its libraries ----
say "building the dom0 initramfs"
ST=$W/stage; rm -rf "$ST"
mkdir -p "$ST"/{bin,usr/bin,lib64,lib/x86_64-linux-gnu,usr/lib/x86_64-linux-gnu,proc,sys,dev,etc/xen,opt,var,root}
ln -s /run "$ST/var/run"     # xenstored binds /var/run/xenstored/socket
mkdir -p "$ST/usr/lib/xen-4.17/bin" "$ST/lib/modules/$KV/kernel/drivers/xen/xenfs"
cp "$R/bin/busybox" "$ST/bin/"
for a in $("$R/bin/busybox" --list); do [ -e "$ST/bin/$a" ] || ln -s busybox "$ST/bin/$a"; done
for b in xl xenstored xen-init-dom0 xenstore-control; do
        cp "$R/usr/lib/xen-4.17/bin/$b" "$ST/usr/lib/xen-4.17/bin/" || die "missing $b in xen-utils"; done
cp "$R/usr/sbin/xenhypfs" "$ST/usr/bin/" || die "missing xenhypfs in xen-utils"
cp -P "$R"/usr/bin/xenstore "$R"/usr/bin/xenstore-{ls,read,write,list,rm} "$ST/usr/bin/"
cp -a "$R"/usr/lib/x86_64-linux-gnu/lib{xen,xl,yajl}*.so* "$ST/usr/lib/x86_64-linux-gnu/"
cp "$ISCHED" "$ST/usr/bin/isched" && cp "$PROBE" "$ST/usr/bin/xen-probe" || die "cannot copy isched/xen-probe"
# Libraries: the Xen ones from the debs (already copied), everything else
# (glibc, libintellisched from the build tree, GSL, cJSON, ...) as ldd
# resolves it on this Debian 12 host.
LIBS=$(for b in "$ST"/usr/lib/xen-4.17/bin/* "$ST/usr/bin/xenstore" "$ST/usr/bin/xenhypfs" \
                "$ISCHED" "$PROBE"; do
        LD_LIBRARY_PATH="$R/usr/lib/x86_64-linux-gnu" ldd "$b" 2>/dev/null | awk '/=> \//{print $3} /not found/{print "MISSING:" $1}'
done | sort -u | grep -v "^$R")
echo "$LIBS" | grep -q '^MISSING:' && die "unresolved libraries: $(echo "$LIBS" | grep '^MISSING:' | tr '\n' ' ')"
echo "$LIBS" | xargs -r -I{} cp -L {} "$ST/lib/x86_64-linux-gnu/"
cp -L /lib64/ld-linux-x86-64.so.2 "$ST/lib64/"
for m in xen-evtchn xen-privcmd xen-gntdev xen-gntalloc xenfs/xenfs; do
        cp "$R/lib/modules/$KV/kernel/drivers/xen/$m.ko" "$ST/lib/modules/$KV/kernel/drivers/xen/$m.ko" ||
                die "missing kernel module $m"
done
echo 'autoballoon="off"' > "$ST/etc/xen/xl.conf"
cp "$HERE/dom0-test.sh" "$ST/test.sh"
# Issue 15's end-to-end check and the publisher it runs in dom0 (guest-work-test.sh),
# with the libraries it needs that are not there yet.
GUEST_PUB=${ISCHED_XEN_QEMU_GUEST_PUB:-$BUILD/guest/isched-guest}
cp "$HERE/guest-work-test.sh" "$ST/guest-work-test.sh" && cp "$GUEST_PUB" "$ST/usr/bin/isched-guest" ||
        die "cannot copy guest-work-test.sh and isched-guest ($GUEST_PUB: built by meson where libxenstore is found)"
for l in $(LD_LIBRARY_PATH="$R/usr/lib/x86_64-linux-gnu" ldd "$GUEST_PUB" | awk '/=> \//{print $3} /not found/{print "MISSING:" $1}' | grep -v "^$R"); do
        case $l in MISSING:*) die "isched-guest: unresolved library ${l#MISSING:}" ;; esac
        [ -e "$ST/lib/x86_64-linux-gnu/${l##*/}" ] || [ -e "$ST/usr/lib/x86_64-linux-gnu/${l##*/}" ] || cp -L "$l" "$ST/lib/x86_64-linux-gnu/"
done
cat > "$ST/init" <<'EOF'
#!/bin/sh
export PATH=/bin:/usr/bin:/usr/lib/xen-4.17/bin HOME=/root
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
mkdir -p /run /tmp /var/log/xen /var/lib/xenstored /var/lib/xen
mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /tmp; mkdir -p /run/xen /run/xenstored
echo "@@ DOM0_USERSPACE uptime=$(cut -d' ' -f1 /proc/uptime)"
KV=$(uname -r)
for m in xen-evtchn xen-privcmd xen-gntdev xen-gntalloc xenfs/xenfs; do
    insmod /lib/modules/$KV/kernel/drivers/xen/$m.ko || echo "@@ insmod $m failed"; done
mount -t xenfs xenfs /proc/xen
OK=1
xenstored --pid-file /run/xenstored.pid || { echo "@@ xenstored failed"; OK=0; }
i=0; until [ -S /run/xenstored/socket ] || [ $i -ge 100 ]; do sleep 0.1; i=$((i+1)); done
[ -S /run/xenstored/socket ] || { echo "@@ xenstored socket missing"; OK=0; }
[ $OK = 1 ] && { timeout 60 xen-init-dom0 >/dev/null || { echo "@@ xen-init-dom0 failed"; OK=0; }; }
echo "@@ DAEMONS_UP uptime=$(cut -d' ' -f1 /proc/uptime)"
if [ $OK = 1 ]; then sh /test.sh 2>&1; echo "@@ TEST_RC=$?"; else echo "@@ TEST_RC=99"; fi
echo "@@ POWEROFF uptime=$(cut -d' ' -f1 /proc/uptime)"
sync; poweroff -f
EOF
chmod +x "$ST/init" "$ST/test.sh"
(cd "$ST" && find . | "$R/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -1 > "$W/dom0.cpio.gz") ||
        die "cannot build the initramfs"

# ---- 4. boot: both machines at once, each on one host core ----
boot() { # mode xen-elf extra-xen-args log timeout
        local mode=$1 xen=$2 xargs=$3 log=$4 tmo=$5
        local XARGS="console=com1 com1=115200,8n1 loglvl=all guest_loglvl=all console_timestamps=boot"
        XARGS="$XARGS dom0_mem=1024M,max:1024M $xargs"
        # No commas in the dom0 arguments: QEMU separates modules with them.
        local KARGS="console=hvc0 rdinit=/init quiet isched_mode=$mode isched_stress=$STRESS"
        timeout -k 5 "$tmo" qemu-system-x86_64 -machine q35 -accel tcg,thread=single -cpu Nehalem \
                -smp 8,sockets=2,cores=2,threads=2 -m 2048 -nographic -no-reboot -monitor none \
                -serial stdio -kernel "$xen" -append "$XARGS" \
                -initrd "$KERNEL $KARGS,$W/dom0.cpio.gz" </dev/null >"$log" 2>&1
        echo $? > "$log.rc"
}
STAMP=$(date +%Y%m%d-%H%M%S)
declare -A LOGS
for mode in $BOOTS; do
        LOGS[$mode]=$W/serial-$mode-$STAMP.log
        case $mode in
        patched) boot patched "$PATCHED_XEN" "" "${LOGS[$mode]}" 900 & ;;
        stock)   boot stock "$W/xen-debian" "credit2_runqueue=core" "${LOGS[$mode]}" 500 & ;;
        *) die "unknown boot '$mode' in ISCHED_XEN_QEMU_BOOTS" ;;
        esac
        say "booting $mode hypervisor -> ${LOGS[$mode]}"
done
wait

# ---- 5. markers ----
required() {
        case $1 in
        patched) echo "XL_STOCK PROBE_POOLS ISCHED_POOLS STATS_MOVE RQ_cpu RQ_core RQ_socket RQ_node RQ_all
                       ISCHED_RUN ISCHED_EXPLAIN POOL_LOCK STRESS POOL_RESTORED NO_ASSERT" ;;
        stock) echo "XL_STOCK ADVISORY_POOLS ADVISORY_SET STOCK_COUNTERS STOCK_PREDICT ISCHED_POOLS_ADVISORY
                     ISCHED_RUN_ADVISORY" ;;
        esac
        [ "$1" = patched ] && echo "GW_ABSENT GW_LIVE GW_STALE GW_BACKWARDS GW_WINDOWS GW_SUM"   # guest-work-test.sh
}
for mode in $BOOTS; do
        log=${LOGS[$mode]}
        rc=$(cat "$log.rc" 2>/dev/null || echo "?")
        say "$mode: qemu rc=$rc, serial log $log"
        grep -E '@@ (PASS|FAIL|SKIP|INFO)' "$log" | sed 's/^/    /'
        [ "$rc" = 0 ] || FAILED+=("$mode: qemu exit status $rc (124 = timed out)")
        grep -q '@@ TEST_RC=0' "$log" || FAILED+=("$mode: dom0 test did not report TEST_RC=0")
        grep -q 'Entering ACPI S5' "$log" || FAILED+=("$mode: no clean power-off")
        grep -q '@@ FAIL' "$log" && FAILED+=("$mode: $(grep -c '@@ FAIL' "$log") check(s) failed")
        if grep -E -q "Assertion '.*' failed|Xen BUG at|Panic on CPU|FATAL TRAP|Xen call trace" "$log"; then
                FAILED+=("$mode: hypervisor assertion, BUG or panic in the serial log")
        fi
        for m in $(required "$mode"); do
                grep -q "@@ PASS $m\b" "$log" || FAILED+=("$mode: marker $m missing")
        done
done
say "total wall time $(( $(date +%s) - T_START )) s"
if [ ${#FAILED[@]} -gt 0 ]; then
        for f in "${FAILED[@]}"; do say "FAIL: $f"; done
        exit 1
fi
say "PASS"
exit 0

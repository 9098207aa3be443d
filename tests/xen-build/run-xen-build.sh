#!/bin/bash
# tests/xen-build/run-xen-build.sh SRCDIR - the 'xen-build' suite.
#
# Runs xen-patches/build.sh (Debian's Xen 4.17 + our series, hypervisor in
# release and debug flavours, the touched tools libraries and xl), then checks
# that the outputs exist and are what they claim to be:
#   - both hypervisors are ELF32 (bootable by QEMU's multiboot loader);
#   - both contain the hypfs node names the series adds;
#   - the debug one was built with CONFIG_DEBUG=y, both with CONFIG_HYPFS=y;
#   - xl contains the new sched-credit2 options;
#   - build.sh said which Debian version it built and, if that is older
#     than Debian's current hypervisor package, warned naming both.
# Exits 77 (skipped) only if build.sh says this machine cannot build (no
# access to Debian's source package, build dependencies not installable).
set -uo pipefail
SRCDIR=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
WORK=${XEN_BUILD_WORK:-$SRCDIR/xen-patches/work}
OUT=$WORK/out

# build.sh's standard error is shown and kept for the checks below; the
# work directory does not exist yet on a fresh clone.
mkdir -p "$WORK" || { echo "xen-build: FAIL: cannot create $WORK"; exit 1; }
{ "$SRCDIR/xen-patches/build.sh" -w "$WORK" 2>&1 >&3 | tee "$WORK/build-sh.stderr" >&2; rc=${PIPESTATUS[0]}; } 3>&1
if [ $rc = 77 ]; then
        echo "xen-build: skipped, this machine cannot build Xen (see the message above)"
        exit 77
fi
[ $rc = 0 ] || { echo "xen-build: FAIL: build.sh exited with $rc"; exit 1; }

fail=0
check() { # description command...
        if "${@:2}"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi
}
is_elf32() { [ "$(head -c 5 "$1" | od -An -tx1 | tr -d ' \n')" = 7f454c4601 ]; }
has_string() { grep -aqF -- "$2" "$1"; }

for f in xen-release xen-debug; do
        check "$f exists" test -s "$OUT/$f"
        check "$f is an ELF32 image (what QEMU -kernel boots)" is_elf32 "$OUT/$f"
        for s in credit2-runqueue credit2-stats snapshot wake-latency-negative freeze-max-ns; do
                check "$f contains the hypfs node name $s" has_string "$OUT/$f" "$s"
        done
        check "$f contains the rearrangement report" has_string "$OUT/$f" "runqueues rearranged from"
done
check "config-debug has CONFIG_DEBUG=y" grep -qx 'CONFIG_DEBUG=y' "$OUT/config-debug"
check "config-release has no CONFIG_DEBUG" bash -c "! grep -qx 'CONFIG_DEBUG=y' '$OUT/config-release'"
for f in config-release config-debug; do
        check "$f has CONFIG_HYPFS=y" grep -qx 'CONFIG_HYPFS=y' "$OUT/$f"
done
check "xl exists" test -x "$OUT/xl"
check "xl has sched-credit2 --runqueue" has_string "$OUT/xl" "--runqueue=ARR"
check "xl has sched-credit2 --stats" has_string "$OUT/xl" "--stats"
check "libxenlight has libxl_sched_credit2_runqueue_set" \
        has_string "$(ls "$OUT"/lib/libxenlight.so.* 2>/dev/null | head -1)" libxl_sched_credit2_runqueue_set
check "libxenlight has libxl_sched_credit2_stats_get" \
        has_string "$(ls "$OUT"/lib/libxenlight.so.* 2>/dev/null | head -1)" libxl_sched_credit2_stats_get
built=$(sed -n 's/^deb_version //p' "$OUT/xen-version" 2>/dev/null)
binary=$(apt-cache policy xen-hypervisor-4.17-amd64 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v none)
check "build.sh recorded the Debian version it built ($built)" test -n "$built"
check "build.sh said which version it built" grep -qF "built Xen from Debian's source package xen=$built" \
        "$WORK/build-sh.stderr"
if [ -n "$binary" ] && dpkg --compare-versions "$built" lt "$binary"; then
        check "the version gap ($built < $binary) is warned about, naming both" \
                bash -c "grep -qF 'WARNING: the patched hypervisor is Xen $built' '$WORK/build-sh.stderr' &&
                         grep -qF '$binary' '$WORK/build-sh.stderr' && grep -qF '$binary' '$OUT/WARNING.txt'"
else
        check "no version-gap warning when $built is Debian's current version ($binary)" \
                bash -c "! grep -q WARNING '$WORK/build-sh.stderr' && [ ! -e '$OUT/WARNING.txt' ]"
fi
[ -f "$OUT/build-times.txt" ] && sed 's/^/build-times: /' "$OUT/build-times.txt"
[ $fail = 0 ] && echo "xen-build: PASS" || echo "xen-build: FAIL"
exit $fail

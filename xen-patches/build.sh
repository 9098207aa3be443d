#!/bin/bash
# xen-patches/build.sh - build Debian 12's Xen 4.17 with intellisched's patch series.
#
# Gets Debian's Xen source package (bookworm main version), extracts it with
# dpkg-source (Debian's own patches applied), applies the series listed in
# xen-patches/series (failing on any reject), and builds:
#   - the hypervisor twice: release and debug (CONFIG_DEBUG=y, so ASSERT()s are
#     compiled in), both with CONFIG_HYPFS=y;
#   - the tools libraries the series touches (and their dependencies) and xl.
#
# Usage: xen-patches/build.sh [-w WORKDIR] [-j JOBS] [--no-tools] [--no-deps] [--force]
#   -w WORKDIR   work directory (default: xen-patches/work, gitignored)
#   -j JOBS      make -j value (default 2)
#   --no-tools   build only the two hypervisors
#   --no-deps    do not apt-get install missing build dependencies
#   --force      rebuild even if the stamp says the outputs are up to date
# Environment: XEN_SRC_CACHE=DIR  directory that may already hold the source
#   package files (xen_VERSION.dsc, .orig.tar.xz, .debian.tar.xz); used only
#   as a speed-up, and only if it holds exactly the version below.
#
# Outputs, in WORKDIR/out:
#   xen-release, xen-debug            the ELF32 hypervisors to boot (QEMU -kernel, multiboot)
#   xen-syms-release, xen-syms-debug  the same with symbols (for addr2line)
#   config-release, config-debug      the hypervisor .config used
#   xl, lib/                          the patched xl and the tools libraries it needs
#                                     (run as LD_LIBRARY_PATH=WORKDIR/out/lib WORKDIR/out/xl)
#   build-times.txt                   seconds taken by each step of the last full build
# A second run with unchanged patches (and options) is a no-op (stamp file).
#
# Exit status: 0 success; 1 failure (e.g. a patch does not apply, a build
# error); 77 this machine cannot build (Debian's source package unreachable,
# or build dependencies missing and not installable).
set -euo pipefail

XEN_DEB_VERSION=4.17.5+72-g01140da4e8-1
XEN_UP_VERSION=${XEN_DEB_VERSION%-*}

# Build dependencies (Debian 12 package names). scripts/deps lists them too.
HV_DEPS=(build-essential bison flex python3 dpkg-dev xz-utils)
TOOLS_DEPS=(autoconf acpica-tools uuid-dev libyajl-dev zlib1g-dev libncurses-dev
            pkg-config python3-dev wget)

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$HERE/work
JOBS=2
TOOLS=1
DEPS=1
FORCE=0
while [ $# -gt 0 ]; do
        case $1 in
        -w) WORK=$2; shift 2 ;;
        -j) JOBS=$2; shift 2 ;;
        --no-tools) TOOLS=0; shift ;;
        --no-deps) DEPS=0; shift ;;
        --force) FORCE=1; shift ;;
        -h|--help) sed -n '2,35p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
        esac
done
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
OUT=$WORK/out
LOGS=$WORK/logs
SRC=$WORK/src
mkdir -p "$OUT" "$LOGS" "$WORK/dl"

# One build at a time per work directory (the xen-qemu suite may call us too).
exec 9>"$WORK/.lock"
if ! flock -n 9; then
        echo "[build.sh] waiting for another build.sh using $WORK" >&2
        flock 9
fi

T_START=$(date +%s)
say() { printf '[build.sh %4ss] %s\n' "$(( $(date +%s) - T_START ))" "$*" >&2; }
die() { say "ERROR: $*" >&2; exit 1; }
skip() { say "SKIP: $*" >&2; exit 77; }
# run LOGNAME cmd...: run quietly into a log, show its tail on failure.
run() {
        local log=$LOGS/$1.log; shift
        if ! "$@" >>"$log" 2>&1; then
                tail -n 40 "$log" >&2
                die "'$*' failed (full log: $log)"
        fi
}

# ---- the series, and whether the outputs are up to date ----
mapfile -t PATCHES < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$HERE/series")
[ ${#PATCHES[@]} -gt 0 ] || die "xen-patches/series lists no patches"
for p in "${PATCHES[@]}"; do
        [ -f "$HERE/$p" ] || die "patch '$p' listed in series does not exist"
done
STAMP_SUM=$( (cd "$HERE" && cat series "${PATCHES[@]}" build.sh; echo "tools=$TOOLS $XEN_DEB_VERSION") |
            sha256sum | cut -d' ' -f1)
outputs_present() {
        local f
        for f in xen-release xen-debug; do [ -s "$OUT/$f" ] || return 1; done
        [ $TOOLS = 0 ] || [ -x "$OUT/xl" ] || return 1
}
if [ $FORCE = 0 ] && [ "$(cat "$WORK/.stamp" 2>/dev/null)" = "$STAMP_SUM" ] && outputs_present; then
        say "up to date (series unchanged since the last build): outputs in $OUT"
        exit 0
fi
rm -f "$WORK/.stamp"

# ---- build dependencies ----
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
missing_pkgs() {
        local p
        for p in "$@"; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
        done
}
NEEDED=("${HV_DEPS[@]}")
[ $TOOLS = 0 ] || NEEDED+=("${TOOLS_DEPS[@]}")
mapfile -t MISSING < <(missing_pkgs "${NEEDED[@]}")
if [ ${#MISSING[@]} -gt 0 ]; then
        [ $DEPS = 1 ] || skip "missing build dependencies: ${MISSING[*]} (and --no-deps given)"
        if [ -n "$SUDO" ] && ! sudo -n true 2>/dev/null; then
                skip "missing build dependencies: ${MISSING[*]}; need root (or sudo) to install them"
        fi
        say "installing build dependencies: ${MISSING[*]}"
        $SUDO apt-get update -qq >>"$LOGS/deps.log" 2>&1 || true
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
                "${MISSING[@]}" >>"$LOGS/deps.log" 2>&1 ||
                skip "cannot install build dependencies ${MISSING[*]} (see $LOGS/deps.log)"
fi

# ---- Debian's source package ----
DSC=xen_$XEN_DEB_VERSION.dsc
SRC_FILES=("$DSC" "xen_$XEN_UP_VERSION.orig.tar.xz" "xen_$XEN_DEB_VERSION.debian.tar.xz")
have_source() { local f; for f in "${SRC_FILES[@]}"; do [ -s "$1/$f" ] || return 1; done; }

# Enable deb-src by deriving it from the existing entries (never a host name here).
enable_deb_src() {
        if [ -f /etc/apt/sources.list.d/debian.sources ]; then
                sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
                        $SUDO tee /etc/apt/sources.list.d/deb-src.sources >/dev/null
        elif [ -f /etc/apt/sources.list ]; then
                sed -n 's/^deb \(.*\)$/deb-src \1/p' /etc/apt/sources.list |
                        $SUDO tee /etc/apt/sources.list.d/deb-src.list >/dev/null
        else
                return 1
        fi
        $SUDO apt-get update -qq >>"$LOGS/source.log" 2>&1
}

if ! have_source "$WORK/dl"; then
        CACHE=${XEN_SRC_CACHE:-}
        if [ -n "$CACHE" ] && have_source "$CACHE"; then
                say "using the cached source package in $CACHE"
                for f in "${SRC_FILES[@]}"; do cp "$CACHE/$f" "$WORK/dl/"; done
        else
                say "downloading Debian's source package xen=$XEN_DEB_VERSION"
                if ! (cd "$WORK/dl" && apt-get source --download-only "xen=$XEN_DEB_VERSION") \
                        >>"$LOGS/source.log" 2>&1; then
                        if [ -n "$SUDO" ] && ! sudo -n true 2>/dev/null; then
                                skip "no deb-src entry for apt, and no root to add one (see $LOGS/source.log)"
                        fi
                        enable_deb_src || skip "cannot enable deb-src (no apt sources found)"
                        (cd "$WORK/dl" && apt-get source --download-only "xen=$XEN_DEB_VERSION") \
                                >>"$LOGS/source.log" 2>&1 ||
                                skip "cannot download Debian's source package xen=$XEN_DEB_VERSION (no network? see $LOGS/source.log)"
                fi
                have_source "$WORK/dl" || skip "source package files missing after download (see $LOGS/source.log)"
        fi
fi

# ---- extract and patch ----
T0=$(date +%s)
say "extracting $DSC (with Debian's patches)"
rm -rf "$SRC" "$WORK/build"
: >"$LOGS/extract.log"
run extract dpkg-source -x "$WORK/dl/$DSC" "$SRC"
say "applying ${#PATCHES[@]} patches"
: >"$LOGS/patch.log"
for p in "${PATCHES[@]}"; do
        if ! patch -d "$SRC" -p1 --forward --batch <"$HERE/$p" >>"$LOGS/patch.log" 2>&1; then
                tail -n 20 "$LOGS/patch.log" >&2
                die "patch $p does not apply to Debian's xen $XEN_DEB_VERSION"
        fi
done
if find "$SRC" -name '*.rej' | grep -q .; then
        die "rejects found: $(find "$SRC" -name '*.rej' | head -5 | tr '\n' ' ')"
fi
T_PATCH=$(( $(date +%s) - T0 ))

# ---- hypervisors: out-of-tree builds from the same patched source ----
build_hv() { # flavor; sets T_HV to the seconds it took
        local flavor=$1 o=$WORK/build/xen-$1 t0
        t0=$(date +%s)
        mkdir -p "$o"
        : >"$LOGS/xen-$flavor.log"
        run "xen-$flavor" make -C "$SRC/xen" O="$o" defconfig
        {
                [ "$flavor" = debug ] && echo "CONFIG_DEBUG=y"
                echo "CONFIG_HYPFS=y"
        } >>"$o/.config"
        run "xen-$flavor" make -C "$SRC/xen" O="$o" olddefconfig
        grep -q '^CONFIG_HYPFS=y' "$o/.config" || die "CONFIG_HYPFS is not enabled in $o/.config"
        if [ "$flavor" = debug ]; then
                grep -q '^CONFIG_DEBUG=y' "$o/.config" || die "CONFIG_DEBUG is not enabled in $o/.config"
        fi
        say "building the $flavor hypervisor"
        run "xen-$flavor" make -C "$SRC/xen" O="$o" -j"$JOBS"
        cp "$o/xen" "$OUT/xen-$flavor"
        cp "$o/xen-syms" "$OUT/xen-syms-$flavor"
        cp "$o/.config" "$OUT/config-$flavor"
        T_HV=$(( $(date +%s) - t0 ))
}
rm -f "$OUT"/xen-* "$OUT"/config-* "$OUT/xl" "$OUT/build-times.txt"
rm -rf "$OUT/lib"
build_hv release
T_RELEASE=$T_HV
build_hv debug
T_DEBUG=$T_HV

# ---- tools: only the libraries below tools/libs and xl ----
T_TOOLS=0
if [ $TOOLS = 1 ]; then
        T0=$(date +%s)
        say "configuring the tools"
        : >"$LOGS/tools.log"
        for f in config.guess config.sub; do
                for d in /usr/share/misc /usr/share/autoconf/build-aux; do
                        if [ -f "$d/$f" ]; then cp "$d/$f" "$SRC/"; break; fi
                done
        done
        (cd "$SRC" && run tools ./autogen.sh)
        (cd "$SRC" && run tools ./configure --prefix=/usr --disable-xen --disable-docs \
                --disable-stubdom --disable-monitors --disable-ocamltools --disable-xsmpolicy \
                --disable-seabios --disable-golang --disable-qemu-traditional --disable-rombios \
                --disable-ipxe --disable-ovmf --disable-pvshim --disable-9pfs \
                --with-system-qemu=/usr/bin/qemu-system-i386 --with-xenstored=xenstored)
        say "building the tools libraries and xl"
        run tools make -C "$SRC/tools/include" -j"$JOBS"
        run tools make -C "$SRC/tools/libs" -j"$JOBS"
        run tools make -C "$SRC/tools/xl" -j"$JOBS"
        mkdir -p "$OUT/lib"
        cp "$SRC/tools/xl/xl" "$OUT/xl"
        find "$SRC/tools/libs" -name 'lib*.so*' \( -type f -o -type l \) -exec cp -P {} "$OUT/lib/" \;
        T_TOOLS=$(( $(date +%s) - T0 ))
fi

cat >"$OUT/build-times.txt" <<EOF
xen_version $XEN_DEB_VERSION
jobs $JOBS
extract_and_patch_s $T_PATCH
hypervisor_release_s $T_RELEASE
hypervisor_debug_s $T_DEBUG
tools_s $T_TOOLS
total_s $(( $(date +%s) - T_START ))
EOF
echo "$STAMP_SUM" >"$WORK/.stamp"
say "done: release ${T_RELEASE}s, debug ${T_DEBUG}s, tools ${T_TOOLS}s; outputs in $OUT"

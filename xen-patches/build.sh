#!/bin/bash
# xen-patches/build.sh - build Debian 12's Xen 4.17 with intellisched's patch series.
#
# Gets Debian's Xen 4.17 source package, the newest version whose source files
# can be downloaded (the security archive's first, then bookworm main), extracts
# it with dpkg-source (Debian's own patches applied), applies the series listed
# in xen-patches/series (failing on any reject), and builds:
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
# Environment:
#   XEN_DEB_VERSION=V  build exactly Debian's source version V (default: the
#                      newest 4.17 version apt knows whose source is reachable)
#   XEN_SRC_CACHE=DIR  directory that may already hold the source package
#                      files (xen_V.dsc, .orig.tar.xz, .debian.tar.xz) of a
#                      candidate version; used instead of downloading them
#
# It prints the Debian version it built and, when that is older than Debian's
# current hypervisor package (xen-hypervisor-4.17-amd64), a WARNING naming
# both: the patched hypervisor then lacks the fixes in between.
#
# Outputs, in WORKDIR/out:
#   xen-release, xen-debug            the ELF32 hypervisors to boot (QEMU -kernel, multiboot)
#   xen-syms-release, xen-syms-debug  the same with symbols (for addr2line)
#   config-release, config-debug      the hypervisor .config used
#   xl, lib/                          the patched xl and the tools libraries it needs
#                                     (run as LD_LIBRARY_PATH=WORKDIR/out/lib WORKDIR/out/xl)
#   build-times.txt                   seconds taken by each step of the last full build
#   xen-version                       the Debian version built, and Debian's current
#                                     hypervisor package version ("deb_version V",
#                                     "binary_version B"); WARNING.txt if B is newer
# A second run with unchanged patches (and options) is a no-op (stamp file).
#
# Exit status: 0 success; 1 failure (e.g. a patch does not apply, a build
# error); 77 this machine cannot build (Debian's source package unreachable,
# or build dependencies missing and not installable).
set -euo pipefail

XEN_PIN=${XEN_DEB_VERSION:-}
XEN_BINARY_PKG=xen-hypervisor-4.17-amd64

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
        -h|--help) sed -n '2,46p' "$0"; exit 0 ;;
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
STAMP_SUM=$( (cd "$HERE" && cat series "${PATCHES[@]}" build.sh; echo "tools=$TOOLS pin=$XEN_PIN") |
            sha256sum | cut -d' ' -f1)
# The version gap, said once per run: on stderr and in WARNING.txt.
version_report() {
        local v b
        v=$(sed -n 's/^deb_version //p' "$OUT/xen-version" 2>/dev/null)
        b=$(sed -n 's/^binary_version //p' "$OUT/xen-version" 2>/dev/null)
        say "built Xen from Debian's source package xen=$v"
        rm -f "$OUT/WARNING.txt"
        if [ -n "$b" ] && dpkg --compare-versions "$v" lt "$b"; then
                cat >"$OUT/WARNING.txt" <<EOW
WARNING: the patched hypervisor is Xen $v, older than Debian's current
hypervisor package $XEN_BINARY_PKG $b.
The source of $b could not be downloaded on this machine, so this build lacks
every fix Debian shipped between the two versions, security fixes included.
Booting it instead of Debian's hypervisor downgrades the host: do not deploy it
where those fixes matter. Build where the newer source is reachable, or build
the series on upstream Xen 4.17.7 (see xen-patches/README.md).
EOW
                sed 's/^/[build.sh] /' "$OUT/WARNING.txt" >&2
        fi
}
outputs_present() {
        local f
        for f in xen-release xen-debug; do [ -s "$OUT/$f" ] || return 1; done
        [ $TOOLS = 0 ] || [ -x "$OUT/xl" ] || return 1
}
if [ $FORCE = 0 ] && [ "$(cat "$WORK/.stamp" 2>/dev/null)" = "$STAMP_SUM" ] && outputs_present &&
   [ -s "$OUT/xen-version" ]; then
        say "up to date (series unchanged since the last build): outputs in $OUT"
        version_report
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

# ---- Debian's source package: the newest one whose source is reachable ----
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
# Debian versions on stdin (one a line), 4.17 only, newest first.
newest_first() {
        local v w placed sorted=() next
        while read -r v; do
                case $v in 4.17.*) ;; *) continue ;; esac
                placed=0 next=()
                for w in "${sorted[@]}"; do
                        [ "$v" = "$w" ] && placed=2
                        if [ $placed = 0 ] && dpkg --compare-versions "$v" gt "$w"; then
                                next+=("$v"); placed=1
                        fi
                        next+=("$w")
                done
                [ $placed = 0 ] && next+=("$v")
                sorted=("${next[@]}")
        done
        [ ${#sorted[@]} = 0 ] || printf '%s\n' "${sorted[@]}"
}
source_files() { # version: the three files of its source package
        echo "xen_$1.dsc xen_${1%-*}.orig.tar.xz xen_$1.debian.tar.xz"
}
have_source() { # dir version
        local f
        for f in $(source_files "$2"); do [ -s "$1/$f" ] || return 1; done
}
: >"$LOGS/source.log"
BINARY_VERSION=$(apt-cache policy "$XEN_BINARY_PKG" 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v none || true)
if [ -n "$XEN_PIN" ]; then
        CANDIDATES=$XEN_PIN
else
        CANDIDATES=$(apt-cache showsrc xen 2>/dev/null | sed -n 's/^Version: //p' | newest_first)
        if [ -z "$CANDIDATES" ]; then
                if [ -n "$SUDO" ] && ! sudo -n true 2>/dev/null; then
                        skip "apt knows no source package xen (no deb-src entry), and there is no root to add one"
                fi
                enable_deb_src || skip "cannot enable deb-src (no apt sources found)"
                CANDIDATES=$(apt-cache showsrc xen 2>/dev/null | sed -n 's/^Version: //p' | newest_first)
        fi
        [ -n "$CANDIDATES" ] || skip "apt knows no Xen 4.17 source package (see $LOGS/source.log)"
fi
XEN_DEB_VERSION=
TRIED=()
for v in $CANDIDATES; do
        d=$WORK/dl/$v
        mkdir -p "$d"
        if have_source "$d" "$v"; then
                XEN_DEB_VERSION=$v; break
        fi
        if [ -n "${XEN_SRC_CACHE:-}" ] && have_source "$XEN_SRC_CACHE" "$v"; then
                say "using the cached source package xen=$v in $XEN_SRC_CACHE"
                for f in $(source_files "$v"); do cp "$XEN_SRC_CACHE/$f" "$d/"; done
                XEN_DEB_VERSION=$v; break
        fi
        say "downloading Debian's source package xen=$v"
        if (cd "$d" && apt-get source --download-only "xen=$v") >"$LOGS/source-try.log" 2>&1 &&
           have_source "$d" "$v"; then
                cat "$LOGS/source-try.log" >>"$LOGS/source.log"
                XEN_DEB_VERSION=$v; break
        fi
        cat "$LOGS/source-try.log" >>"$LOGS/source.log"
        why=$(grep -m1 -oE '[0-9]{3} +[A-Z][A-Za-z ]*[a-z]' "$LOGS/source-try.log" || true)
        say "the source of xen=$v cannot be downloaded here (${why:-see $LOGS/source.log})"
        TRIED+=("$v")
        rm -rf "$d"
done
[ -n "$XEN_DEB_VERSION" ] ||
        skip "no Xen source package could be downloaded (tried ${TRIED[*]}; no network? see $LOGS/source.log)"
DSC=xen_$XEN_DEB_VERSION.dsc
DL=$WORK/dl/$XEN_DEB_VERSION

# ---- extract and patch ----
T0=$(date +%s)
say "extracting $DSC (with Debian's patches)"
rm -rf "$SRC" "$WORK/build"
: >"$LOGS/extract.log"
run extract dpkg-source -x "$DL/$DSC" "$SRC"
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

printf 'deb_version %s\nbinary_version %s\n' "$XEN_DEB_VERSION" "$BINARY_VERSION" >"$OUT/xen-version"
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
version_report

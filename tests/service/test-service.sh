#!/bin/bash
# The service as a fresh Debian 12 machine gets it (issue 14): meson install
# (into a DESTDIR) installs the unit, the configuration and its example, the
# man page, the logrotate file, a pkg-config file complete for a static
# link, and builds no test, fuzzer or benchmark; systemd-analyze verifies
# the unit and rates its exposure; and drive-unit.sh runs the installed
# ExecStart the way systemd does, in a private mount namespace.
#
# systemd itself is not started: CI machines and this one may not run it as
# PID 1, and booting a second systemd on a shared host touches the host
# (it empties /tmp).  The test says which PID 1 it found.
# Needs root (for the mount namespace), $BUILDDIR, $SRCDIR.
set -u
build=${BUILDDIR:?set BUILDDIR}
src=${SRCDIR:?set SRCDIR}
if [ "$(id -u)" != 0 ] || ! unshare --mount --propagation private true 2>/dev/null; then
        echo "SKIP: needs root and unshare(1) for a private /run (CI runs as root)"
        exit 77
fi
for tool in systemd-analyze logrotate pkg-config cc python3; do
        command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (scripts/deps installs it)"; exit 1; }
done
d=$(mktemp -d /tmp/isched-service-XXXXXX)
chmod 711 "$d"
trap 'rm -rf "$d"' EXIT
D=$d/root
fail=0
ok() { echo "ok: $1"; }
bad() {
        echo "FAIL: $1"
        sed 's/^/    | /' "$d/err" 2>/dev/null | head -8
        fail=1
}
expect() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
echo "note: PID 1 is $(ps -p 1 -o comm= 2>/dev/null || echo unknown); systemd is not started by this test"

# ---- meson install ----
DESTDIR=$D meson install -C "$build" --no-rebuild --quiet >"$d/install.out" 2>"$d/err"
expect "meson install into a DESTDIR" '[ $? -eq 0 ]'
prefix=$(meson introspect --buildoptions "$build" | python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
libdir=$(meson introspect --buildoptions "$build" | python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="libdir"))')
case $libdir in /*) ;; *) libdir=$prefix/$libdir ;; esac
unit=$D$prefix/lib/systemd/system/intellisched.service
for f in "$prefix/bin/isched" "$prefix/lib/systemd/system/intellisched.service" /etc/intellisched/intellisched.conf \
        "$prefix/share/doc/intellisched/intellisched.conf.example" "$prefix/share/man/man1/isched.1" \
        /etc/logrotate.d/intellisched "$libdir/pkgconfig/intellisched.pc" "$libdir/libintellisched.a" \
        "$prefix/share/intellisched/decision-schema.json" "$prefix/share/doc/intellisched/service.md"; do
        expect "installed: $f" '[ -s "$D$f" ]'
done
expect "the configuration installed is the example" \
        'cmp -s "$D/etc/intellisched/intellisched.conf" "$src/service/intellisched.conf"'
echo "# edited by the administrator" >>"$D/etc/intellisched/intellisched.conf"
DESTDIR=$D meson install -C "$build" --no-rebuild --quiet >"$d/install.out" 2>"$d/err"
expect "a second meson install keeps the administrator's configuration" \
        'grep -q "edited by the administrator" "$D/etc/intellisched/intellisched.conf"'
expect "the installed man page is the source's" 'cmp -s "$D$prefix/share/man/man1/isched.1" "$src/docs/isched.1"'

# ---- nothing but the product is built by ninja (and so by ninja install) ----
ninja -C "$build" -t query all >"$d/all" 2>"$d/err"
expect "ninja's default targets hold no test, fuzzer or benchmark" \
        '[ -s "$d/all" ] && ! sed -n "/input:/,/outputs:/p" "$d/all" | grep -q "tests/\|bench/\|fuzz"'

# ---- pkg-config --static is complete: a static link succeeds ----
cat >"$d/prog.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <intellisched/intellisched.h>

int main(void)
{
        struct isched_backend_config cfg = { .size = sizeof(cfg), .seed = 1 };
        struct isched_backend *b = NULL;
        struct isched_pool_info *pools = NULL;
        size_t n = 0;

        if (isched_backend_open("sim", &cfg, &b) < 0 || isched_backend_list_pools(b, &pools, &n) < 0 || !n)
                return 1;
        printf("%s %s\n", isched_version(), pools[0].name);
        free(pools);
        isched_backend_unref(b);
        return 0;
}
EOF
pc() { PKG_CONFIG_PATH=$D$libdir/pkgconfig pkg-config --define-variable=prefix="$D$prefix" "$@"; }
# The archive itself, then what pkg-config --static says it needs.
static_libs=$(pc --static --libs intellisched | sed 's/-lintellisched//')
# A sanitized build's archive needs the sanitizer's runtime: that is the build's
# property, not the .pc file's contract, so the link adds the build's own flag.
san=$(meson introspect --buildoptions "$build" | python3 -c \
        'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "b_sanitize"))')
san_flags=
[ -n "$san" ] && [ "$san" != none ] && san_flags="-fsanitize=$san"
cc -o "$d/prog" "$d/prog.c" $san_flags $(pc --cflags intellisched) "$D$libdir/libintellisched.a" $static_libs 2>"$d/err"
expect "a program links libintellisched.a with pkg-config --static --libs alone" '[ $? -eq 0 ] && "$d/prog" | grep -q "Pool-0"'
if grep -q "xencontrol" "$D$libdir/pkgconfig/intellisched.pc"; then
        ok "the pkg-config file names the Xen libraries"
elif [ "$(grep -c HAVE_XEN_BACKEND\ 1 "$build/config.h")" = 1 ]; then
        bad "the xen backend is built but the pkg-config file does not name the Xen libraries"
fi

# ---- the unit: systemd-analyze ----
# verify needs the commands to exist: the installed binary is in DESTDIR.
sed "s|^ExecStart=$prefix|ExecStart=$D$prefix|" "$unit" >"$d/intellisched.service"
MANPATH=$D$prefix/share/man systemd-analyze verify "$d/intellisched.service" >"$d/err" 2>&1
expect "systemd-analyze verify: the installed unit is valid" '[ $? -eq 0 ] && [ ! -s "$d/err" ]'
systemd-analyze security --offline=yes --threshold=15 "$d/intellisched.service" >"$d/security" 2>&1
expect "systemd-analyze security: exposure at most 1.5 (hardened)" '[ $? -eq 0 ]'
grep -o "exposure level for [^:]*: [0-9.]* [A-Z]*" "$d/security" | sed 's/^/note: /'
for k in Type=notify NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes "CapabilityBoundingSet=$" \
        DevicePolicy=closed "ExecReload=/bin/kill -HUP \$MAINPID"; do
        expect "the unit has $k" 'grep -q "^$k" "$unit"'
done

# ---- run it the way systemd does ----
LD_LIBRARY_PATH=$D$libdir unshare --mount --propagation private \
        bash -c 'mount -t tmpfs -o mode=755 tmpfs /run && exec "$0" "$@"' \
        "$src/tests/service/drive-unit.sh" "$D" "$d" "$unit" "$src/tests/service/sd-listener.py" 2>&1
[ $? -eq 0 ] || fail=1
exit $fail

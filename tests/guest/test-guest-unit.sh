#!/bin/bash
# The guest's systemd unit for isched-guest (docs/guest-work.md): meson
# install puts it beside intellisched.service and its ExecStart names the
# installed publisher; systemd-analyze verifies it and rates its exposure.
# systemd is not started (see tests/service/test-service.sh): the unit is
# checked offline, as systemd would load it.  Needs $BUILDDIR; the unit is
# argument 1, the publisher argument 2.
set -u
unit=$1
exe=$2
build=${BUILDDIR:?set BUILDDIR}
for tool in systemd-analyze meson python3; do
        command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (scripts/deps installs it)"; exit 1; }
done
. "$(dirname "$0")/../lib.sh"
t_init guest-unit

# ---- where meson install puts it ----
meson introspect --installed "$build" >"$d/installed" 2>"$d/err"
inst() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$d/installed" "$1"; }
unit_at=$(inst "$unit")
exe_at=$(inst "$exe")
service_at=$(inst "$build/service/intellisched.service")
expect "meson installs the unit and the publisher" '[ -n "$unit_at" ] && [ -n "$exe_at" ]'
expect "the unit goes where intellisched.service goes ($unit_at)" \
        '[ "$(dirname "$unit_at")" = "$(dirname "$service_at")" ] && [ "$(basename "$unit_at")" = isched-guest.service ]'
expect "its ExecStart is the installed publisher, with the arguments of the EnvironmentFile" \
        'grep -qx "ExecStart=$exe_at \$ISCHED_GUEST_ARGS" "$unit" && grep -q "^EnvironmentFile=-/.*/default/isched-guest$" "$unit"'
expect "nothing is left unconfigured" '! grep -q "@[A-Z]*@" "$unit"'

# ---- systemd-analyze ----
# verify needs the command to exist: the built publisher stands in for the
# installed one.
sed "s|^ExecStart=$exe_at |ExecStart=$exe |" "$unit" >"$d/isched-guest.service"
systemd-analyze verify "$d/isched-guest.service" >"$d/err" 2>&1
expect "systemd-analyze verify: the unit is valid, without a warning" '[ $? -eq 0 ] && [ ! -s "$d/err" ]'
systemd-analyze security --offline=yes --threshold=25 "$d/isched-guest.service" >"$d/err" 2>&1
expect "systemd-analyze security: exposure at most 2.5" '[ $? -eq 0 ]'
grep -o "exposure level for [^:]*: [0-9.]* [A-Z]*" "$d/err" | sed 's/^/note: /'
for k in "CapabilityBoundingSet=$" NoNewPrivileges=yes ProtectSystem=strict DevicePolicy=closed \
        "DeviceAllow=/dev/xen/xenbus rw" ConditionPathExists=/dev/xen/xenbus RestartPreventExitStatus=2; do
        expect "the unit has $k" 'grep -q "^$k" "$unit"'
done
# A stop must be SIGTERM, which makes the publisher remove its nodes.
expect "it is stopped with SIGTERM" '! grep -q "^KillSignal=" "$unit" || grep -q "^KillSignal=SIGTERM$" "$unit"'
t_done

#!/bin/sh
# The shared library exports exactly the functions the public headers
# declare, and the version script lists exactly those.
set -eu
lib=$1 src=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ {sub(/@.*/, "", $3); print $3}' | sort -u > "$tmp/exports"
sed -n 's/^[[:space:]]*\(isched_[a-z0-9_]*\);.*/\1/p' "$src/lib/libintellisched.map" | sort -u > "$tmp/map"
cat "$src"/include/intellisched/*.h | tr '\n' ' ' | grep -o '[a-z_]*isched_[a-z0-9_]* *(' |
        sed 's/ *($//' | grep '^isched_' | grep -v '^isched_log_fn$' | sort -u > "$tmp/headers"
fail=0
if grep -v '^isched_[a-z]' "$tmp/exports"; then echo "FAIL: exported symbols above are not isched_*"; fail=1; fi
if ! diff -u "$tmp/map" "$tmp/exports"; then echo "FAIL: version script and exports differ"; fail=1; fi
if ! diff -u "$tmp/headers" "$tmp/exports"; then echo "FAIL: public headers and exports differ"; fail=1; fi
[ $fail = 0 ] && echo "symbols: $(wc -l < "$tmp/exports") exported, all isched_*, map and headers agree"
exit $fail

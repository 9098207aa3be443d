#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench-learn: rounds per second of `isched learn` on generated data,
# CSV parsing included: d = 8 features, K = 5 arms, ROWS rows (default
# 1,000,000), each policy; the best of 3 runs (the first run also warms
# the page cache).  Rounds per second of wall time, and of CPU time
# (what an idle machine would reach when others' jobs share the CPUs).
#
#   bench-learn.sh ISCHED GEN-LEARN-DATA [ROWS]
set -euo pipefail
isched=$1 gen=$2 rows=${3:-1000000}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$gen" "$rows" 8 5 1 > "$tmp/data.csv"
echo "bench-learn: $rows rows, d = 8, K = 5, $(du -h "$tmp/data.csv" | cut -f1)B of CSV, best of 3 runs"
printf '%-10s %16s %20s %14s\n' policy rounds/s "rounds/CPU-s" regret/round
for p in linucb lints lingreedy egreedy dlinucb; do
        best=0 best_cpu=0 regret=
        for _ in 1 2 3; do
                out=$("$isched" learn --data "$tmp/data.csv" --policy "$p" --json)
                read -r rate cpu reg < <(python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(j["decisions_per_second"], j["rounds"] / max(j["cpu_s"], 1e-9), j["regret_per_round"])' "$out")
                if python3 -c "import sys; sys.exit(0 if $rate > $best else 1)"; then best=$rate regret=$reg; fi
                if python3 -c "import sys; sys.exit(0 if $cpu > $best_cpu else 1)"; then best_cpu=$cpu; fi
        done
        printf '%-10s %16.0f %20.0f %14.5f\n' "$p" "$best" "$best_cpu" "$regret"
done

#!/bin/sh
# Run one libFuzzer harness for ISCHED_FUZZ_SECONDS (default 20) from its
# committed seed corpus (docs/reliability.md).  New inputs go to a work
# corpus in the build directory, never into the source tree; a crash
# leaves its input in BUILDDIR/fuzz-work/NAME/artifacts/ and fails the test.
#
# Usage: run-fuzz.sh HARNESS NAME SEED_DIR BUILDDIR MAX_LEN [libFuzzer options...]
set -eu
harness=$1 name=$2 seeds=$3 out=$4 max_len=$5
shift 5
secs=${ISCHED_FUZZ_SECONDS:-20}
work="$out/fuzz-work/$name"
mkdir -p "$work/corpus" "$work/artifacts"
exec "$harness" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" \
        -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$@" "$work/corpus" "$seeds"

#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `isched learn` and `isched model` end to end, through the real binary.
set -u
: "${ISCHED:?ISCHED must name the isched binary}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# expect STATUS PATTERN CMD...: CMD exits with STATUS and its stderr+stdout matches PATTERN.
expect() {
        local want=$1 pattern=$2; shift 2
        out=$("$@" 2>&1); rc=$?
        if [ "$rc" != "$want" ]; then fail "$* exited $rc, expected $want: $out"; return; fi
        if ! grep -qE -- "$pattern" <<<"$out"; then fail "$*: output lacks /$pattern/: $out"; return; fi
        ok "$* -> $rc"
}

# Data: 3 features, 3 arms; arm 2 is best by 1 on every row, arm 0 and 1
# depend on x1.  Deterministic (awk's srand with a fixed seed).
awk 'BEGIN { srand(7); print "x0,x1,x2,r0,r1,r2";
        for (t = 0; t < 600; t++) { x1 = rand() * 2 - 1; x2 = rand();
                printf "1,%.6f,%.6f,%.6f,%.6f,%.6f\n", x1, x2, x1, -x1, 1.5 + 0.1 * x2 } }' > data.csv

expect 0 "--policy KIND" "$ISCHED" learn --help
expect 0 "merge" "$ISCHED" model --help

for p in egreedy lingreedy linucb dlinucb lints; do
        expect 0 "rounds: +600" "$ISCHED" learn --data data.csv --policy "$p"
done

# JSON: the numbers hang together, and LinUCB finds the best arm.
"$ISCHED" learn --data data.csv --policy linucb --json > out.json || fail "learn --json"
python3 - out.json <<'PY' || fail "learn --json output"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["policy"] == "linucb" and j["rounds"] == 600 and j["nr_features"] == 3 and j["nr_arms"] == 3, j
assert abs(j["regret"] - 600 * (j["mean_oracle_reward"] - j["mean_reward"])) < 1e-6, j
assert abs(j["regret_per_round"] * 600 - j["regret"]) < 1e-6, j
assert j["regret_per_round"] < 0.1, j           # learned that arm 2 is best
assert j["decisions_per_second"] > 0, j
PY
[ $? = 0 ] && ok "learn --json numbers"

# --arms-out: one arm per row, all valid; the seed makes runs repeatable.
"$ISCHED" learn --data data.csv --policy lints --seed 5 --arms-out a1.txt >/dev/null || fail "arms-out 1"
"$ISCHED" learn --data data.csv --policy lints --seed 5 --arms-out a2.txt >/dev/null || fail "arms-out 2"
"$ISCHED" learn --data data.csv --policy lints --seed 6 --arms-out a3.txt >/dev/null || fail "arms-out 3"
[ "$(wc -l < a1.txt)" = 600 ] && ! grep -qv '^[012]$' a1.txt && ok "arms-out has 600 valid arms" || fail "arms-out content"
cmp -s a1.txt a2.txt && ok "same seed, same arms" || fail "same seed gave other arms"
cmp -s a1.txt a3.txt && fail "another seed gave the very same 600 arms" || ok "another seed, other arms"
[ "$(sort a1.txt | uniq -c | sort -rn | head -1 | awk '{print $2}')" = 2 ] && ok "lints mostly plays arm 2" ||
        fail "lints did not learn arm 2"

# Malformed data: exit 2, and the message names the line (and column).
bad() {
        local pattern=$1; shift
        printf "$@" > bad.csv
        expect 2 "$pattern" "$ISCHED" learn --data bad.csv --policy linucb
}
bad "bad.csv: the file is empty" ''
bad "bad.csv:1: header column 2 is 'y'" 'x0,y,r0\n1,2,3\n'
bad "bad.csv:1: the header has no reward columns" 'x0,x1\n1,2\n'
bad "bad.csv:1: more than 5 reward columns" 'x0,r0,r1,r2,r3,r4,r5\n'
bad "bad.csv:3: 2 values, expected 3" 'x0,r0,r1\n1,2,3\n1,2\n'
bad "bad.csv:2: more than 3 values" 'x0,r0,r1\n1,2,3,4\n'
bad "bad.csv:2: column 2 \\(r0\\): 'abc' is not a finite decimal number" 'x0,r0,r1\n1,abc,3\n'
bad "bad.csv:2: column 1 \\(x0\\): 'nan'" 'x0,r0,r1\nnan,1,3\n'
bad "bad.csv:2: column 3 \\(r1\\): 'inf'" 'x0,r0,r1\n1,1,inf\n'
bad "bad.csv:2: column 3 \\(r1\\): '1e400' is out of the range" 'x0,r0,r1\n1,1,1e400\n'
bad "bad.csv:2: column 2 \\(r0\\) is empty" 'x0,r0,r1\n1,,1\n'
bad "bad.csv:3: empty line" 'x0,r0\n1,2\n\n1,2\n'
bad "bad.csv: no data rows" 'x0,r0\n'
bad "column 1 \\(x0\\): '0x10'" 'x0,r0\n0x10,2\n'
# ... and accepts what is well-formed: CRLF, no final newline, signs, exponents.
printf 'x0,r0,r1\r\n+1.5e0,-2,.5\r\n-0,5.,1E-3' > good.csv
expect 0 "rounds: +2" "$ISCHED" learn --data good.csv --policy egreedy

# Bad options.
expect 2 "--policy: unknown policy 'ucb'" "$ISCHED" learn --data data.csv --policy ucb
expect 2 "--policy KIND is required" "$ISCHED" learn --data data.csv
expect 2 "--gamma does not apply to the linucb policy" "$ISCHED" learn --data data.csv --policy linucb --gamma 0.9
expect 2 "--alpha: -1 is out of range" "$ISCHED" learn --data data.csv --policy linucb --alpha -1
expect 2 "--data nothere.csv" "$ISCHED" learn --data nothere.csv --policy linucb
[ -e never.txt ] && fail "arms-out written after a failure" || ok "no output file after a failure"

# Models: learn two halves, merge, and refuse mismatches.
head -301 data.csv > h1.csv
{ head -1 data.csv; tail -300 data.csv; } > h2.csv
"$ISCHED" learn --data h1.csv --policy linucb --model-out m1.json >/dev/null || fail "model-out 1"
"$ISCHED" learn --data h2.csv --policy linucb --model-out m2.json >/dev/null || fail "model-out 2"
"$ISCHED" learn --data h2.csv --policy lints --model-out m3.json >/dev/null || fail "model-out 3"
[ "$(stat -c %a m1.json)" = 600 ] && ok "model file mode 0600" || fail "model file mode $(stat -c %a m1.json)"
expect 0 "" "$ISCHED" model merge m1.json m2.json -o merged.json
python3 - merged.json <<'PY' && ok "merged model adds up the rounds" || fail "merged model content"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["schema"] == "isched-model-v2", j["schema"]
assert j["rounds"] == 600 and sum(a["pulls"] for a in j["arm_stats"]) == 600
PY
expect 2 "policy.kind differs" "$ISCHED" model merge m1.json m3.json -o never.json
expect 2 "-o OUT.json is required" "$ISCHED" model merge m1.json m2.json
expect 2 "at least two" "$ISCHED" model merge m1.json -o never.json
expect 2 "unknown subcommand" "$ISCHED" model frobnicate
printf '{"format": "intellisched-model", "version": 9}' > v9.json
expect 2 "version 9" "$ISCHED" model merge m1.json v9.json -o never.json
expect 2 "the same model" "$ISCHED" model merge m1.json m1.json -o m1.json
cp m1.json copy.json
expect 2 "the same contents" "$ISCHED" model merge m1.json copy.json -o never.json
expect 2 "not valid JSON" "$ISCHED" model merge m1.json data.csv -o never.json
[ -e never.json ] && fail "never.json was written" || ok "nothing written on refusal"

echo "$fails failure(s)"
[ "$fails" = 0 ]

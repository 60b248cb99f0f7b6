#!/usr/bin/env bash
# Runs the bench module's measurements one after another (never in
# parallel: the machine has 2 cores) and prints the tables.
#   BenchmarkHandle, -count=6, compared with benchstat per contender;
#   cmd/e2e: both stacks, 5 runs each, alternating, gzip off and on;
#   cmd/paced: each stack's highest lossless paced rate, then the lossless
#   mode (about 5 minutes; see its doc comment for quicker runs).
# Usage: bash run.sh [N]   (N records per e2e run, default 200000)
#   PACED_ARGS overrides cmd/paced's arguments (default: -search), e.g.
#   PACED_ARGS="-search -duration 2s -need 1" bash run.sh
set -euo pipefail
cd "$(dirname "$0")"
n="${1:-200000}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
benchstat=(go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da)

echo "## BenchmarkHandle (count=6)"
go test -run '^$' -bench '^BenchmarkHandle$' -benchmem -count=6 . | tee "$out/handle.txt"
# benchstat compares files: one per contender, with the contender's name
# taken out of the benchmark name so rows line up.
for c in slogotlp stdlib-json otelslog; do
	grep -E "^(goos|goarch|pkg|cpu):|^BenchmarkHandle/$c/" "$out/handle.txt" |
		sed "s#^BenchmarkHandle/$c/#BenchmarkHandle/#" >"$out/$c.txt"
done
echo
echo "## slogotlp vs stdlib JSON handler (delta: slogotlp relative to stdlib-json)"
"${benchstat[@]}" stdlib-json="$out/stdlib-json.txt" slogotlp="$out/slogotlp.txt"
echo
echo "## slogotlp vs otelslog bridge + sdk/log BatchProcessor"
"${benchstat[@]}" otelslog="$out/otelslog.txt" slogotlp="$out/slogotlp.txt"

echo
echo "## End to end: $n records per run, loopback receiver"
go build -o "$out/e2e" ./cmd/e2e
"$out/e2e" -runs 5 -n "$n"

echo
echo "## Paced load: highest rate each stack delivers without loss"
go build -o "$out/paced" ./cmd/paced
# shellcheck disable=SC2086 # PACED_ARGS is a list of flags
"$out/paced" ${PACED_ARGS:--search}

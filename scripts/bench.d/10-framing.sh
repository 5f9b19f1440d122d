#!/usr/bin/env bash
# framing codec micro-benchmarks (allocations per op must be 0).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/benchlib.sh
echo "## framing (length-prefixed codec)"
echo
echo '```'
bench_lines '^(Benchmark|cpu)' go test -run '^$' -bench . -benchmem -count 1 ./framing/
echo '```'

#!/usr/bin/env bash
# framing codec micro-benchmarks (allocations per op must be 0).
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "## framing (length-prefixed codec)"
echo
echo '```'
go test -run '^$' -bench . -benchmem -count 1 ./framing/ 2>&1 | grep -E '^(Benchmark|cpu)'
echo '```'

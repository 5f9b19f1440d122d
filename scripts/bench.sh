#!/usr/bin/env bash
# Runs the benchmarks and the side-by-side comparisons with peers, and
# rewrites docs/BENCHMARKS.md from what it measured on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "bench: codec micro-benchmarks"
go test -run '^$' -bench . -benchmem -count 1 ./framing/... | tee "$out/framing.txt"
{
	echo "# Benchmarks"
	echo
	echo "Written by \`make bench\` on $(date -u +%Y-%m-%d): $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version | awk '{print $3}'), $(uname -sr)."
	echo
	echo "## framing"
	echo
	echo '```'
	grep -E '^(Benchmark|goos|goarch|cpu)' "$out/framing.txt"
	echo '```'
} > docs/BENCHMARKS.md
echo "bench: wrote docs/BENCHMARKS.md"

#!/usr/bin/env bash
# Runs the benchmarks and the side-by-side comparisons with peers, and
# rewrites docs/BENCHMARKS.md from what this run measured on this machine.
# Each area has one script in scripts/bench.d/ that prints its markdown
# section on stdout (progress goes to stderr); they run in name order.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{
	echo "# Benchmarks"
	echo
	echo "Written by \`make bench\` on $(date -u +%Y-%m-%d): $(nproc) cores,"
	echo "$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'),"
	echo "$(go version | awk '{print $3}'), $(uname -sr). Every figure below comes from that one run;"
	echo "ratios compare peers measured side by side in the same run."
	echo
} > "$tmp"
for s in scripts/bench.d/*.sh; do
	echo "bench: $s" >&2
	bash "$s" >> "$tmp"
	echo >> "$tmp"
done
mv "$tmp" docs/BENCHMARKS.md
trap - EXIT
echo "bench: wrote docs/BENCHMARKS.md" >&2

#!/usr/bin/env bash
# Runs the benchmarks and the side-by-side comparisons with peers, and
# rewrites docs/BENCHMARKS.md from what this run measured on this machine.
# Each area has one script in scripts/bench.d/ that prints its markdown
# section on stdout (progress goes to stderr); they run in name order.
#
# Text written by hand (profiles read, analyses, earlier runs worth keeping)
# lives in docs/BENCHMARKS.md between the lines
#     <!-- kept NAME -->
#     <!-- /kept NAME -->
# where NAME is a script's name without .sh (20-chat). A run carries each
# such block over, after the section that script prints, so make bench
# replaces the measured figures and nothing else. Several blocks of one NAME
# go there in their order. A block whose script is
# gone is kept at the end, and the run says so.
#
# A script that fails does not stop the others: its section says it was
# not measured, the document is written all the same, and make bench exits
# with status 1 after naming the scripts that failed.
#
# BENCH_D and BENCH_DOC name another scripts directory and document
# (scripts/bench_test.sh uses them).
set -euo pipefail
cd "$(dirname "$0")/.."
doc=docs/BENCHMARKS.md
dir=scripts/bench.d
[ -z "${BENCH_DOC:-}" ] || doc=$BENCH_DOC
[ -z "${BENCH_D:-}" ] || dir=$BENCH_D
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The kept blocks of the current document, one file per NAME (the blocks of
# one NAME in their order); a block that is not closed, or opened inside
# another, stops the run before anything is measured.
if [ -f "$doc" ]; then
	awk -v dir="$work/kept" '
		BEGIN { system("mkdir -p " dir) }
		/^<!-- kept [A-Za-z0-9._-]+ -->$/ {
			if (name != "") { printf "%s:%d: <!-- kept %s --> opened inside block %s\n", FILENAME, NR, $3, name > "/dev/stderr"; bad = 1; exit }
			name = $3; file = dir "/" name ".md"
		}
		name != "" { print >> file }
		/^<!-- \/kept [A-Za-z0-9._-]+ -->$/ {
			if ($3 != name) { printf "%s:%d: <!-- /kept %s --> closes no open block\n", FILENAME, NR, $3 > "/dev/stderr"; bad = 1; exit }
			close(file); name = ""
		}
		END { if (!bad && name != "") { printf "%s: block kept as %s is not closed\n", FILENAME, name > "/dev/stderr"; bad = 1 } exit bad }
	' "$doc" || { echo "bench: fix the kept blocks of $doc first (see scripts/bench.sh)" >&2; exit 1; }
fi

out="$work/out.md"
{
	echo "# Benchmarks"
	echo
	echo "Written by \`make bench\` on $(date -u +%Y-%m-%d): $(nproc) cores,"
	echo "$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'),"
	echo "$(go version | awk '{print $3}'), $(uname -sr). Every measured figure below comes from that one run;"
	echo "ratios compare peers measured side by side in the same run. Text between"
	echo "\`<!-- kept -->\` marks was written by hand, says when, and is carried over"
	echo "from run to run (scripts/bench.sh)."
	echo
} > "$out"
failed=()
for s in "$dir"/*.sh; do
	name=$(basename "$s" .sh)
	echo "bench: $s" >&2
	rc=0
	bash "$s" > "$work/section.md" || rc=$?
	if [ "$rc" -eq 0 ]; then
		cat "$work/section.md" >> "$out"
	else
		failed+=("$name")
		echo "bench: $s failed (exit $rc)" >&2
		{
			echo "## $name: not measured"
			echo
			echo "$s failed (exit $rc) in this run; make bench printed why."
		} >> "$out"
	fi
	echo >> "$out"
	if [ -f "$work/kept/$name.md" ]; then
		cat "$work/kept/$name.md" >> "$out"
		echo >> "$out"
		rm "$work/kept/$name.md"
	fi
done
for k in "$work"/kept/*.md; do
	[ -e "$k" ] || continue
	echo "bench: kept block $(basename "$k" .md) names no script in $dir; it stays at the end of $doc" >&2
	{ cat "$k"; echo; } >> "$out"
done
mv "$out" "$doc"
echo "bench: wrote $doc" >&2
if [ "${#failed[@]}" -gt 0 ]; then
	echo "bench: failed: ${failed[*]}" >&2
	exit 1
fi

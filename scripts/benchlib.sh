# Sourced by the scripts in scripts/bench.d (it is not one of them).

# bench_lines PATTERN COMMAND...: runs COMMAND, its stdout and stderr
# together, and prints the lines that match the extended regexp PATTERN
# (a benchmark's result lines). When COMMAND fails, or prints no line that
# matches, its whole output goes to stderr, so that the reason is seen
# rather than filtered away, and bench_lines fails.
bench_lines() {
	local pattern=$1 out rc=0
	shift
	out=$(mktemp)
	"$@" > "$out" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ] || ! grep -qE "$pattern" "$out"; then
		echo "bench: '$*' failed (exit $rc); its output:" >&2
		sed 's/^/    /' "$out" >&2
		rm -f "$out"
		return $(( rc == 0 ? 1 : rc ))
	fi
	grep -E "$pattern" "$out"
	rm -f "$out"
}

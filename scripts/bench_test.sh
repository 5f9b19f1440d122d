#!/usr/bin/env bash
# Tests scripts/bench.sh on scripts and a document of its own (no benchmark
# runs): measured sections are replaced, kept blocks are carried over after
# their script's section, a failing script is reported without losing the
# others, and a broken kept block stops the run before anything runs.
set -euo pipefail
cd "$(dirname "$0")/.."
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "bench_test: $*" >&2; echo "--- document:" >&2; cat "$t/doc.md" >&2; exit 1; }

mkdir "$t/d"
printf '#!/usr/bin/env bash\necho "## alpha"\necho "alpha measured %s"\n' '$(cat '"$t"'/round)' > "$t/d/10-alpha.sh"
printf '#!/usr/bin/env bash\necho "## beta"\necho "beta partial"\nexit 3\n' > "$t/d/20-beta.sh"
printf '#!/usr/bin/env bash\necho "## gamma"\necho "gamma measured"\n' > "$t/d/30-gamma.sh"
cat > "$t/doc.md" <<'DOC'
# Benchmarks

## alpha

alpha measured 0
<!-- kept 10-alpha -->
### Alpha's profile, read by hand
alpha prose
<!-- /kept 10-alpha -->

## gamma

<!-- kept 30-gamma -->
gamma prose
<!-- /kept 30-gamma -->
old gamma figure
<!-- kept 30-gamma -->
gamma second prose
<!-- /kept 30-gamma -->
<!-- kept 99-gone -->
orphan prose
<!-- /kept 99-gone -->
DOC

run() { BENCH_D="$t/d" BENCH_DOC="$t/doc.md" bash scripts/bench.sh 2> "$t/err"; }

echo 1 > "$t/round"
if run; then fail "bench.sh exited 0 although 20-beta.sh failed"; fi
grep -q 'bench: failed: 20-beta' "$t/err" || fail "stderr does not name the failed script: $(cat "$t/err")"
grep -q 'kept block 99-gone names no script' "$t/err" || fail "stderr does not warn of the orphan block"
grep -q '^alpha measured 1$' "$t/doc.md" || fail "alpha's section was not replaced by this run's"
grep -q '^alpha measured 0$' "$t/doc.md" && fail "the previous run's alpha figure survived"
grep -q '^## 20-beta: not measured$' "$t/doc.md" || fail "beta's failure is not in the document"
grep -q 'beta partial' "$t/doc.md" && fail "a failed script's partial output went into the document"
grep -q '^gamma measured$' "$t/doc.md" || fail "gamma did not run after beta failed"
# The order: alpha's section, alpha's kept block, beta, gamma, gamma's two
# kept blocks, the orphan block.
order=$(grep -nE '^(alpha measured|alpha prose|## 20-beta|gamma measured|gamma prose|gamma second prose|orphan prose)' "$t/doc.md" | cut -d: -f2- | tr '\n' '|')
[ "$order" = "alpha measured 1|alpha prose|## 20-beta: not measured|gamma measured|gamma prose|gamma second prose|orphan prose|" ] || fail "order is $order"
[ "$(grep -c '^<!-- kept ' "$t/doc.md")" = 4 ] || fail "the kept markers were not carried over once each"
grep -q '^old gamma figure$' "$t/doc.md" && fail "text between two kept blocks survived"

# A second run keeps the kept blocks once, not twice.
echo 2 > "$t/round"
run || true
[ "$(grep -c '^alpha prose$' "$t/doc.md")" = 1 ] || fail "a kept block was duplicated by a second run"
grep -q '^alpha measured 2$' "$t/doc.md" || fail "the second run's figure is missing"

# A kept block left open stops the run before any script runs.
printf '<!-- kept 10-alpha -->\nunclosed\n' >> "$t/doc.md"
cp "$t/doc.md" "$t/before.md"
echo 3 > "$t/round"
if run; then fail "bench.sh ran with an unclosed kept block"; fi
grep -q 'opened inside block\|not closed' "$t/err" || fail "no reason given for the broken block: $(cat "$t/err")"
cmp -s "$t/doc.md" "$t/before.md" || fail "the document changed although the run stopped"
echo "bench_test: ok"

#!/usr/bin/env bash
# Runs every fuzz target of the module for the given time each (default 3s).
# Targets are found by name, so a new FuzzXxx function is picked up by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-3s}
count=0
while IFS= read -r file; do
	pkg="./$(dirname "$file")"
	for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
		echo "fuzz $pkg $target ($fuzztime)"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >/tmp/wiredojo-fuzz.log 2>&1 || {
			cat /tmp/wiredojo-fuzz.log
			echo "fuzz target $target in $pkg failed; the failing input is under $pkg/testdata/fuzz/$target"
			exit 1
		}
		count=$((count + 1))
	done
done < <(git ls-files '*_test.go' | grep -v '^bench/' | xargs grep -l '^func Fuzz' | sort)
echo "fuzz: $count targets passed"

#!/usr/bin/env bash
# Runs every Go fuzz target of the module for a bounded time each (default 20s). Minimization
# is bounded too: a -fuzztime that ends while the engine minimizes a new input fails with
# "context deadline exceeded" although nothing failed.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-20s}
found=0
while IFS= read -r line; do
	file=${line%%:*}
	name=$(sed -E 's/^.*func (Fuzz[A-Za-z0-9_]+).*/\1/' <<<"$line")
	pkg=./$(dirname "$file")
	found=$((found + 1))
	echo "== fuzz $pkg $name ($fuzztime)"
	log=$(mktemp)
	if ! go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" -fuzzminimizetime=10x "$pkg" 2>&1 | tee "$log"; then
		# Go's fuzzing engine reports "context deadline exceeded" when the fuzz time ends while it
		# minimizes a new (not failing) input. A real failure always writes its failing input.
		if grep -q 'Failing input written to' "$log" || ! grep -q 'context deadline exceeded' "$log"; then
			rm -f "$log"
			exit 1
		fi
		echo "fuzz: $name: the fuzz time ended during minimization of a new input; no input failed"
	fi
	rm -f "$log"
done < <(grep -rnE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(' . | grep -v '/test/cluster/build/' | sort)
echo "fuzz: $found targets ran without a failure"
[ "$found" -gt 0 ]

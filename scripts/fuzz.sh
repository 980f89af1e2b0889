#!/usr/bin/env bash
# Runs every Go fuzz target of the module for a bounded time each (default 20s).
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
	go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "$pkg"
done < <(grep -rnE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(' . | grep -v '/test/cluster/build/' | sort)
echo "fuzz: $found targets ran without a failure"
[ "$found" -gt 0 ]

#!/usr/bin/env bash
# Runs every Go fuzz target of the module for a bounded time each (default 20s). Minimization
# is bounded too: a -fuzztime that ends while the engine minimizes a new input fails with
# "context deadline exceeded" although nothing failed.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-20s}
found=0

# The files under a package's testdata/fuzz (seed corpus and any crasher the engine wrote), one a line.
corpus_files() {
	if [ -d "$1/testdata/fuzz" ]; then
		find "$1/testdata/fuzz" -type f | LC_ALL=C sort
	fi
}

while IFS= read -r line; do
	file=${line%%:*}
	file=${file#./}
	name=$(sed -E 's/^.*func (Fuzz[A-Za-z0-9_]+).*/\1/' <<<"$line")
	pkg=./$(dirname "$file")
	found=$((found + 1))
	echo "== fuzz $pkg $name ($fuzztime)"
	log=$(mktemp)
	before=$(mktemp)
	corpus_files "$pkg" >"$before"
	if ! go test -gcflags=all=-dwarf=false -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" -fuzzminimizetime=10x "$pkg" 2>&1 | tee "$log"; then
		# Go's fuzzing engine reports "context deadline exceeded" when the fuzz time ends while it
		# minimizes a new (not failing) input. A real failure normally writes its failing input and
		# says so; one that did not (the deadline hit while a crasher was being minimized) is caught
		# below by replaying the target's corpus, which then includes any input written to testdata/fuzz.
		if grep -q 'Failing input written to' "$log" || ! grep -q 'context deadline exceeded' "$log"; then
			rm -f "$log" "$before"
			exit 1
		fi
		echo "fuzz: $name: the fuzz time ended during minimization of an input; replaying the corpus"
		# The engine writes to testdata/fuzz only what failed: anything new there is a crasher.
		new=$(corpus_files "$pkg" | LC_ALL=C comm -13 "$before" - || true)
		if ! go test -count=1 -run="^${name}\$" "$pkg"; then
			echo "fuzz: FAIL: $name: the replay of its corpus failed" >&2
			if [ -n "$new" ]; then
				echo "fuzz: FAIL: $name: inputs this fuzzing run wrote to testdata/fuzz:" >&2
				sed 's/^/    /' <<<"$new" >&2
			fi
			rm -f "$log" "$before"
			exit 1
		fi
		if [ -n "$new" ]; then
			# The replay passed, but the engine saw these inputs fail: a failure that does not
			# reproduce (flaky, or it depended on state) is still a failure.
			echo "fuzz: FAIL: $name: fuzzing wrote these inputs to testdata/fuzz (a failure it saw), though the replay passed:" >&2
			sed 's/^/    /' <<<"$new" >&2
			rm -f "$log" "$before"
			exit 1
		fi
		echo "fuzz: $name: the replay passed and no new input was written; no input failed"
	fi
	rm -f "$log" "$before"
done < <(grep -rnE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(' . | grep -v '/test/cluster/build/' | sort)
echo "fuzz: $found targets ran without a failure"
[ "$found" -gt 0 ]

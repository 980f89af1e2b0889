#!/usr/bin/env bash
# make bench: cscript against kubectl (and git) on the local test cluster, side by side in one
# run; writes docs/benchmarks.md. `make bench` builds bin/cscript and runs `test/cluster/cluster up`
# first. Takes about 10 minutes on 2 cores and needs about 5 GB free under $BENCH_WORK.
#
#   BENCH_WORK=/tmp/cscript-bench   scratch directory (data files are kept and reused)
#   BENCH_ARGS="-only cli,sync"     extra flags for tools/bench (see `go run ./tools/bench -h`)
#   BENCH_BASELINE=REV              also measure cscript built from git revision REV beside this build
#                                   (run overhead, the 2 GB run, CLI latency); empty: no baseline
set -euo pipefail
cd "$(dirname "$0")/../.."
eval "$(test/cluster/cluster env)"
work=${BENCH_WORK:-${TMPDIR:-/tmp}/cscript-bench}
mkdir -p "$work"
[[ -x bin/cscript ]] || make build
go build -o "$work/bench" ./tools/bench
baseline=()
if [[ -n ${BENCH_BASELINE:-} ]]; then
	if ! rev=$(git rev-parse --verify --quiet "${BENCH_BASELINE}^{commit}"); then
		echo "bench: BENCH_BASELINE=$BENCH_BASELINE is no commit of this clone (a shallow clone?): fetch it, or run with BENCH_BASELINE= for no baseline" >&2
		exit 2
	fi
	src=$work/baseline-${rev:0:12}
	if [[ ! -x $src/bin/cscript ]]; then
		echo "bench: building the baseline, cscript at ${rev:0:12}, in $src"
		rm -rf "$src"
		git clone -q --no-checkout "$PWD" "$src"
		git -C "$src" checkout -q --detach "$rev"
		make -C "$src" build >"$src.build.log" 2>&1 || { echo "bench: building the baseline failed; see $src.build.log" >&2; exit 1; }
	fi
	baseline=(-baseline "$src/bin/cscript" -baseline-name "cscript@${rev:0:7}")
fi
# shellcheck disable=SC2086
"$work/bench" -work "$work" -cscript bin/cscript "${baseline[@]}" -out docs/benchmarks.md ${BENCH_ARGS:-}
echo "wrote docs/benchmarks.md (raw results: $work/results.json)"

#!/usr/bin/env bash
# make bench: cscript against kubectl (and git) on the local test cluster, side by side in one
# run; writes docs/benchmarks.md. `make bench` builds bin/cscript and runs `test/cluster/cluster up`
# first. Takes about 10 minutes on 2 cores and needs about 5 GB free under $BENCH_WORK.
#
#   BENCH_WORK=/tmp/cscript-bench   scratch directory (data files are kept and reused)
#   BENCH_ARGS="-only cli,sync"     extra flags for tools/bench (see `go run ./tools/bench -h`)
set -euo pipefail
cd "$(dirname "$0")/../.."
eval "$(test/cluster/cluster env)"
work=${BENCH_WORK:-${TMPDIR:-/tmp}/cscript-bench}
mkdir -p "$work"
[[ -x bin/cscript ]] || make build
go build -o "$work/bench" ./tools/bench
# shellcheck disable=SC2086
"$work/bench" -work "$work" -cscript bin/cscript -out docs/benchmarks.md ${BENCH_ARGS:-}
echo "wrote docs/benchmarks.md (raw results: $work/results.json)"

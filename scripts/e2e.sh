#!/usr/bin/env bash
# make e2e: the end-to-end tests on the test cluster's two legs (test/cluster/README.md).
#   leg 1: the whole suite on E2E_KUBERNETES (default: the newest release the harness builds,
#          containerd 2 and runc from the module proxy);
#   then `cluster up` on a damaged dockerd store, checked to repair it (TestUpRepairsDamagedDockerStore),
#   and `cluster down`, checked to leave no mount behind (TestDownLeavesNoMount);
#   leg 2: OLDEST_TESTS (runner, exec transports, transfer, job, lifecycle, signals) on the
#          oldest release the README promises, with Debian's containerd 1.6.
# E2E_OLDEST_LEG=0 runs leg 1 only. Each leg prints its versions, the tests it ran and its time;
# a failing leg prints its log (what did not pass), and the script fails when either leg did.
set -euo pipefail
cd "$(dirname "$0")/.."
# One e2e run at a time on a machine: two would share one cluster, its dockerd and its state
# (one run's `cluster down` under the other's tests). flock -o holds the lock in flock itself,
# so the daemons `cluster up` leaves running do not inherit it.
lock=/tmp/cscript-e2e.lock
if [[ -z ${CSCRIPT_E2E_LOCKED:-} ]]; then
	flock -n -o "$lock" true || echo "=== e2e: another e2e run on this machine holds $lock; waiting for it to end"
	CSCRIPT_E2E_LOCKED=1 exec flock -o "$lock" bash "$PWD/scripts/e2e.sh" "$@"
fi
# GO_TEST: the go test command (make e2e: with the release's build flags, like make unit).
read -ra go_test <<<"${GO_TEST:-go test}"
: "${CSCRIPT_BIN:?set CSCRIPT_BIN to the cscript binary (make e2e does)}"
export CSCRIPT_BIN
cluster=test/cluster/cluster
newest=$(sed -n 's/^NEWEST_KUBERNETES=//p' test/cluster/lib/common.sh)
oldest=$(sed -n 's/^OLDEST_KUBERNETES=//p' test/cluster/lib/common.sh)
first=${E2E_KUBERNETES:-$newest}
OLDEST_TESTS='^(TestRunner|TestExecTransports|TestCluster|TestCLIBigFileUpAndDown|TestReliabilityTruncatedUploads|TestReliabilityHostileImage|TestReliabilityAgentPlacement|TestJob|TestCLIJobMode|TestLifecycle|TestReliabilityInterrupts|TestReliabilitySIGKILL|TestCLIInterrupt)$'
logs=$(mktemp -d /tmp/cscript-e2e.XXXXXX)

# leg NAME VERSION TIMEOUT [go test args...]: start the cluster on VERSION, print its
# versions, run the tests, print each top-level test's result (and the log when one failed).
leg() {
	local name=$1 version=$2 timeout=$3 t0=$SECONDS rc=0
	shift 3
	echo "=== e2e $name: Kubernetes $version"
	"$cluster" up --kubernetes "$version" >/dev/null
	"$cluster" versions | sed 's/^/    /'
	"${go_test[@]}" -count=1 -tags e2e -timeout "$timeout" -v "$@" ./test/e2e/... >"$logs/$name.log" 2>&1 || rc=$?
	grep -E '^(--- (PASS|FAIL|SKIP)|ok |FAIL)' "$logs/$name.log" || true
	if ((rc)); then
		echo "=== e2e $name FAILED (go test exit $rc); its log without the passing tests' lines:"
		grep -vE '^(=== (RUN|PAUSE|CONT|NAME)|\s*--- PASS)' "$logs/$name.log" || true
	fi
	echo "=== e2e $name: Kubernetes $version: $((SECONDS - t0)) s, exit $rc"
	return $rc
}

status=0
leg "leg 1 (whole suite)" "$first" 40m || status=1
if [[ ${E2E_OLDEST_LEG:-1} == 1 && $first != "$oldest" ]]; then
	echo "=== cluster up repairs a damaged dockerd store; cluster down: no mount may be left behind"
	t0=$SECONDS
	"${go_test[@]}" -count=1 -tags clusterdown -run '^(TestUpRepairsDamagedDockerStore|TestDownLeavesNoMount)$' -v ./test/cluster/ || status=1
	echo "=== cluster down: $((SECONDS - t0)) s"
	leg "leg 2 (runner, transfer, job, lifecycle, signals)" "$oldest" 30m -run "$OLDEST_TESTS" || status=1
fi
rm -rf "$logs"
exit $status

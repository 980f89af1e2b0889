#!/usr/bin/env bash
# make test: the test cluster's build in the background while `make unit` runs.
#   scripts/cluster-prebuild.sh start   build (or find cached) both legs' binaries and the
#                                       images, in the background, at the lowest CPU and I/O
#                                       priority; returns at once
#   scripts/cluster-prebuild.sh report  wait for that build, then print its time and result
#
# On a new machine the build takes about half an hour: Kubernetes twice, containerd, runc
# and the images (module downloads, debootstrap, single-threaded links). `make unit` leaves
# the cores idle part of the time too (downloads, tests that wait); run side by side the two
# fill each other's gaps, and at the lowest priority the build only takes what unit leaves.
# On a warm machine the build finds everything cached in seconds.
#
# `cluster build` holds the harness's lock while it builds, so the first `cluster up` of
# `make e2e` waits for it in any case. A failed prebuild does not fail `make test` by itself:
# `cluster up` builds what is missing again in the foreground, and fails there, with its log.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=bin/cluster-prebuild
cluster=test/cluster/cluster
newest=$(sed -n 's/^NEWEST_KUBERNETES=//p' test/cluster/lib/common.sh)
oldest=$(sed -n 's/^OLDEST_KUBERNETES=//p' test/cluster/lib/common.sh)

case ${1:-} in
start)
	mkdir -p "$dir"
	rm -f "$dir/result"
	# The lock is taken here, before the background job starts, so that a `report` that
	# comes at once still waits; the job inherits it and holds it until it ends.
	exec 9>"$dir/lock"
	flock 9
	(
		t0=$SECONDS rc=0
		for version in "$newest" "$oldest"; do
			nice -n 19 ionice -c 2 -n 7 "$cluster" build --kubernetes "$version" || rc=$?
		done
		echo "$rc $((SECONDS - t0))" >"$dir/result"
	) </dev/null >"$dir/log" 2>&1 &
	echo "cluster prebuild: building Kubernetes $newest and $oldest in the background (log: $dir/log)"
	;;
report)
	[[ -f $dir/lock ]] || exit 0 # no prebuild was started (make e2e on its own)
	flock "$dir/lock" true
	read -r rc secs <"$dir/result" || { rc=1 secs=?; }
	if ((rc == 0)); then
		echo "=== cluster prebuild: Kubernetes $newest and $oldest built or cached in $secs s"
	else
		echo "=== cluster prebuild FAILED after $secs s (exit $rc); cluster up builds again. Its log's end:"
		tail -n 40 "$dir/log" | sed 's/^/    /'
	fi
	rm -f "$dir/lock"
	;;
*)
	sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac

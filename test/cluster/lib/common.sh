# shellcheck shell=bash
# Settings, paths and small helpers shared by the cluster script's parts.

# The Kubernetes releases the harness builds (its "legs"), each with the
# container runtime it runs: "debian" is Debian's containerd 1.6 and runc;
# a version is containerd (and runc) built from the Go module proxy
# (lib/runtime.sh). The oldest is the oldest release the README promises.
# Each has a build module in build/kube-v<version>/ (go.mod, go.sum, main.go).
#   version  containerd  runc
LEGS=(
	"1.34.4 debian debian"
	"1.37.2 2.4.2 1.5.3"
)
OLDEST_KUBERNETES=1.34.4
NEWEST_KUBERNETES=1.37.2
# The leg `up` starts when neither --kubernetes nor CSCRIPT_CLUSTER_KUBERNETES
# names one and the state was never started (else it restarts the state's leg).
DEFAULT_KUBERNETES=1.37.2
BUILD_REV=1  # bump when build/ changes in a way that needs a rebuild
IMAGES_REV=1 # bump when lib/images.sh changes what is in an image
DEBIAN_SUITE=bookworm
MIRROR=${CSCRIPT_CLUSTER_MIRROR:-http://deb.debian.org/debian}

CACHE=${CSCRIPT_CLUSTER_CACHE:-/var/cache/cscript-cluster}
STATE=${CSCRIPT_CLUSTER_STATE:-/var/lib/cscript-cluster}
IMG_DIR=$CACHE/images-$DEBIAN_SUITE-r$IMAGES_REV
LEG_FILE=$STATE/kubernetes-version # the leg the state was last started with

# select_leg VERSION sets K8S_VERSION (v-prefixed), BIN_DIR, KUBE_MODULE,
# CONTAINERD_VERSION and RUNC_VERSION for one of LEGS.
select_leg() {
	local want=${1#v} leg version containerd runc names=()
	for leg in "${LEGS[@]}"; do
		read -r version containerd runc <<<"$leg"
		names+=("$version")
		if [[ $version == "$want" ]]; then
			K8S_VERSION=v$version
			BIN_DIR=$CACHE/kube-$K8S_VERSION-r$BUILD_REV
			KUBE_MODULE=$HERE/build/kube-$K8S_VERSION
			CONTAINERD_VERSION=$containerd
			RUNC_VERSION=$runc
			return 0
		fi
	done
	die "unknown Kubernetes version ${1@Q}: the harness builds ${names[*]} (--kubernetes VERSION or CSCRIPT_CLUSTER_KUBERNETES)"
}

# recorded_leg prints the leg the state was last started with, if any.
recorded_leg() {
	[[ -f $LEG_FILE ]] && cat "$LEG_FILE"
}

NODE=cscript-node
APISERVER=https://127.0.0.1:6443
ETCD=http://127.0.0.1:2379
POD_SUBNET=10.244.0.0/24
SERVICE_RANGE=10.96.0.0/16
FIRST_SERVICE_IP=10.96.0.1

PKI=$STATE/pki
LOGS=$STATE/logs
PIDS=$STATE/pids
CONTAINERD_SOCK=$STATE/containerd/containerd.sock
DOCKER_SOCK=$STATE/docker/docker.sock
KUBECONFIG_FILE=$STATE/kubeconfig
DOCKER=/usr/bin/docker # Debian's docker.io client, whatever else is on PATH

# Components in start order. dockerd is started by docker-up (and by up).
COMPONENTS=(containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet)

# Go from the official tarball is often not on root's PATH.
[[ -x /usr/local/go/bin/go ]] && PATH=$PATH:/usr/local/go/bin

log() { printf 'cluster: %s\n' "$*" >&2; }
die() {
	printf 'cluster: error: %s\n' "$*" >&2
	exit 1
}

kubectl() { "$BIN_DIR/kubectl" --kubeconfig "$KUBECONFIG_FILE" "$@"; }
ctr() { "$(ctr_bin)" --address "$CONTAINERD_SOCK" "$@"; }
docker() { "$DOCKER" -H "unix://$DOCKER_SOCK" "$@"; }

# pid_of NAME prints the pid of a component this script started, if it is
# still running (and is still the same program: pids get reused).
pid_of() {
	local f=$PIDS/$1.pid pid
	[[ -f $f ]] || return 1
	pid=$(<"$f")
	[[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
	grep -qa -- "$(<"$PIDS/$1.cmd")" "/proc/$pid/cmdline" 2>/dev/null || return 1
	echo "$pid"
}

running() { pid_of "$1" >/dev/null; }

# spawn NAME PROGRAM ARGS... starts a daemon in its own session (so it outlives
# this script and the terminal), logging to $LOGS/NAME.log, pid in $PIDS.
spawn() {
	local name=$1
	shift
	mkdir -p "$LOGS" "$PIDS"
	printf '%s' "$1" >"$PIDS/$name.cmd"
	printf '\n==== %s starting %s\n' "$(date -u +%FT%TZ)" "$name" >>"$LOGS/$name.log"
	setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDS/$name.pid" "$@" \
		>>"$LOGS/$name.log" 2>&1 </dev/null 9>&- &
	local i
	for i in $(seq 50); do
		running "$name" && return 0
		sleep 0.1
	done
	die "$name did not start (log: $LOGS/$name.log)"
}

# stop NAME sends SIGTERM, waits up to 10 s, then SIGKILL.
stop() {
	local name=$1 pid i
	pid=$(pid_of "$name") || {
		rm -f "$PIDS/$name.pid"
		return 0
	}
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 100); do
		[[ -d /proc/$pid ]] || break
		sleep 0.1
	done
	if [[ -d /proc/$pid ]]; then
		log "$name (pid $pid) ignored SIGTERM for 10 s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$PIDS/$name.pid"
	log "stopped $name"
}

# wait_for DESCRIPTION SECONDS COMMAND... retries COMMAND every 0.25 s.
wait_for() {
	local what=$1 secs=$2 deadline
	shift 2
	deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || die "timed out after ${secs}s waiting for $what"
		sleep 0.25
	done
}

# show_logs prints the tail of every component's log (called on failure).
show_logs() {
	local f
	for f in "$LOGS"/*.log; do
		[[ -f $f ]] || continue
		printf '\n===== last 40 lines of %s\n' "$f" >&2
		tail -n 40 "$f" >&2
	done
}

# need_packages installs missing Debian packages (cmd:package pairs).
need_packages() {
	local pair missing=()
	for pair in "$@"; do
		command -v "${pair%%:*}" >/dev/null 2>&1 || [[ -x ${pair%%:*} ]] || missing+=("${pair#*:}")
	done
	((${#missing[@]})) || return 0
	log "installing Debian packages: ${missing[*]}"
	if [[ ! -f $STATE/.apt-updated ]]; then
		apt-get update -q >&2
		mkdir -p "$STATE" && touch "$STATE/.apt-updated"
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

# lock serialises commands that change the cluster (tests run `up` from
# several test binaries at once). Daemons do not inherit the lock (spawn).
lock() {
	mkdir -p "$STATE"
	exec 9>"$STATE/.lock"
	flock 9
}

deps() {
	need_packages openssl:openssl curl:curl ctr:containerd containerd-shim-runc-v2:containerd \
		runc:runc /usr/lib/cni/bridge:containernetworking-plugins iptables:iptables \
		/usr/bin/docker:docker.io dockerd:docker.io debootstrap:debootstrap \
		/bin/busybox:busybox-static zsh:zsh fish:fish tmux:tmux chromium:chromium
}

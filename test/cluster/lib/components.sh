# shellcheck shell=bash
# Configuration files and start functions of each component. Every address
# is on loopback; Pods get addresses on a bridge (cscript0) inside the machine.

# put FILE writes stdin to FILE atomically, and only when it changed (running
# daemons watch some of these files).
put() {
	cat >"$1.tmp"
	if cmp -s "$1.tmp" "$1"; then
		rm -f "$1.tmp"
	else
		mv "$1.tmp" "$1"
	fi
}

write_configs() {
	mkdir -p "$STATE"/{containerd,cni/net.d,cni/ipam,kubelet,pod-logs,docker,etcd}
	containerd_config | put "$STATE/containerd/config.toml"
	put "$STATE/cni/net.d/10-cscript.conflist" <<-JSON
		{
		  "cniVersion": "0.4.0",
		  "name": "cscript",
		  "plugins": [{
		    "type": "bridge",
		    "bridge": "cscript0",
		    "isGateway": true,
		    "ipMasq": false,
		    "hairpinMode": true,
		    "ipam": {
		      "type": "host-local",
		      "dataDir": "$STATE/cni/ipam",
		      "ranges": [[{"subnet": "$POD_SUBNET"}]],
		      "routes": [{"dst": "0.0.0.0/0"}]
		    }
		  }]
		}
	JSON
	put "$STATE/kubelet/config.yaml" <<-YAML
		apiVersion: kubelet.config.k8s.io/v1beta1
		kind: KubeletConfiguration
		address: 127.0.0.1
		port: 10250
		readOnlyPort: 0
		healthzBindAddress: 127.0.0.1
		healthzPort: 10248
		authentication:
		  anonymous: {enabled: false}
		  webhook: {enabled: true}
		  x509: {clientCAFile: "$PKI/ca.crt"}
		authorization: {mode: Webhook}
		tlsCertFile: "$PKI/kubelet.crt"
		tlsPrivateKeyFile: "$PKI/kubelet.key"
		containerRuntimeEndpoint: "unix://$CONTAINERD_SOCK"
		podLogsDir: "$STATE/pod-logs"
		# The host has cgroup v1 and may have swap.
		cgroupDriver: cgroupfs
		failCgroupV1: false
		failSwapOn: false
		clusterDomain: cluster.local
		# The kubelet cannot read filesystem stats of this VM's disk: never evict
		# or garbage-collect images because of them (test images are imported,
		# not pulled, and must stay).
		evictionHard: {memory.available: "1Mi", nodefs.available: "0%", nodefs.inodesFree: "0%", imagefs.available: "0%"}
		imageGCHighThresholdPercent: 100
		imageGCLowThresholdPercent: 99
		serializeImagePulls: false
		maxPods: 110
	YAML
	echo '{}' | put "$STATE/docker/daemon.json"
}

# containerd_config: version 2 for Debian's containerd 1.6, version 3 for
# containerd 2 (whose CRI plugin is split in images and runtime).
containerd_config() {
	if [[ $CONTAINERD_VERSION == debian ]]; then
		cat <<-TOML
			version = 2
			root = "$STATE/containerd/root"
			state = "$STATE/containerd/state"
			[grpc]
			  address = "$CONTAINERD_SOCK"
			[plugins."io.containerd.internal.v1.opt"]
			  path = "$STATE/containerd/opt"
			[plugins."io.containerd.grpc.v1.cri"]
			  sandbox_image = "$PAUSE_IMAGE"
			  # This VM lacks CAP_SYS_RESOURCE: without this runc cannot write
			  # oom_score_adj and every sandbox fails ("can't get final child's PID").
			  restrict_oom_score_adj = true
			  [plugins."io.containerd.grpc.v1.cri".containerd]
			    snapshotter = "overlayfs"
			    default_runtime_name = "runc"
			    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
			      runtime_type = "io.containerd.runc.v2"
			      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
			        SystemdCgroup = false
			  [plugins."io.containerd.grpc.v1.cri".cni]
			    bin_dir = "/usr/lib/cni"
			    conf_dir = "$STATE/cni/net.d"
		TOML
		return
	fi
	cat <<-TOML
		version = 3
		root = "$STATE/containerd/root"
		state = "$STATE/containerd/state"
		[grpc]
		  address = "$CONTAINERD_SOCK"
		[plugins."io.containerd.cri.v1.images"]
		  snapshotter = "overlayfs"
		  [plugins."io.containerd.cri.v1.images".pinned_images]
		    sandbox = "$PAUSE_IMAGE"
		[plugins."io.containerd.cri.v1.runtime"]
		  # This VM lacks CAP_SYS_RESOURCE (see above).
		  restrict_oom_score_adj = true
		  # Pod network namespaces under $STATE (not /run/netns): down unmounts them.
		  netns_mounts_under_state_dir = true
		  [plugins."io.containerd.cri.v1.runtime".containerd]
		    default_runtime_name = "runc"
		    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
		      runtime_type = "io.containerd.runc.v2"
		      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
		        BinaryName = "$(runc_bin)"
		        SystemdCgroup = false
		  [plugins."io.containerd.cri.v1.runtime".cni]
		    bin_dirs = ["/usr/lib/cni"]
		    conf_dir = "$STATE/cni/net.d"
	TOML
}

# hosts_entry maps the node's name to 127.0.0.1: the apiserver reaches the
# kubelet by hostname (--node-ip=127.0.0.1 is rejected by the kubelet).
hosts_entry() {
	grep -qE "^127\.0\.0\.1[[:space:]].*\b$NODE\b" /etc/hosts || echo "127.0.0.1 $NODE" >>/etc/hosts
}

start_containerd() {
	# PATH: containerd finds its shim (and the shim runc, for dockerd's
	# containers) on it; the leg's own come first.
	PATH=$(dirname "$(containerd_bin)"):$(dirname "$(runc_bin)"):$PATH \
		spawn containerd "$(containerd_bin)" --config "$STATE/containerd/config.toml"
	wait_for "containerd" 30 ctr version
}

start_etcd() {
	spawn etcd "$BIN_DIR/etcd" --name "$NODE" --data-dir "$STATE/etcd" \
		--listen-client-urls "$ETCD" --advertise-client-urls "$ETCD" \
		--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster "$NODE=http://127.0.0.1:2380" --listen-metrics-urls http://127.0.0.1:2381 \
		--log-level warn
	wait_for "etcd" 30 curl -fsS "$ETCD/health"
}

start_kube-apiserver() {
	spawn kube-apiserver "$BIN_DIR/kube-apiserver" \
		--etcd-servers "$ETCD" \
		--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port 6443 \
		--endpoint-reconciler-type none \
		--service-cluster-ip-range "$SERVICE_RANGE" \
		--tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
		--client-ca-file "$PKI/ca.crt" \
		--service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
		--service-account-issuer https://kubernetes.default.svc.cluster.local \
		--authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
		--allow-privileged=true \
		--kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
		--kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
		--kubelet-certificate-authority "$PKI/ca.crt" \
		--kubelet-preferred-address-types Hostname \
		--profiling=false
	wait_for "kube-apiserver /readyz" 90 curl -fsS --cacert "$PKI/ca.crt" \
		--cert "$PKI/admin.crt" --key "$PKI/admin.key" "$APISERVER/readyz"
}

start_kube-controller-manager() {
	# The node-lifecycle controller stays on: it lifts the node's not-ready taint.
	# Each controller uses its own service account (and RBAC role), as kubeadm does.
	spawn kube-controller-manager "$BIN_DIR/kube-controller-manager" \
		--kubeconfig "$PKI/controller-manager.kubeconfig" \
		--authentication-kubeconfig "$PKI/controller-manager.kubeconfig" \
		--authorization-kubeconfig "$PKI/controller-manager.kubeconfig" \
		--bind-address 127.0.0.1 --leader-elect=false \
		--use-service-account-credentials \
		--service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
		--cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
		--service-cluster-ip-range "$SERVICE_RANGE" --allocate-node-cidrs=false \
		--profiling=false
	wait_for "kube-controller-manager /healthz" 60 curl -fsSk https://127.0.0.1:10257/healthz
}

start_kube-scheduler() {
	spawn kube-scheduler "$BIN_DIR/kube-scheduler" \
		--kubeconfig "$PKI/scheduler.kubeconfig" \
		--authentication-kubeconfig "$PKI/scheduler.kubeconfig" \
		--authorization-kubeconfig "$PKI/scheduler.kubeconfig" \
		--bind-address 127.0.0.1 --leader-elect=false --profiling=false
	wait_for "kube-scheduler /healthz" 60 curl -fsSk https://127.0.0.1:10259/healthz
}

start_kubelet() {
	spawn kubelet "$BIN_DIR/kubelet" \
		--config "$STATE/kubelet/config.yaml" \
		--kubeconfig "$PKI/kubelet.kubeconfig" \
		--root-dir "$STATE/kubelet" \
		--hostname-override "$NODE"
	wait_for "kubelet /healthz" 60 curl -fsS http://127.0.0.1:10248/healthz
}

start_dockerd() {
	running containerd || start_containerd
	spawn dockerd /usr/sbin/dockerd \
		--containerd "$CONTAINERD_SOCK" \
		--config-file "$STATE/docker/daemon.json" \
		--data-root "$STATE/docker/root" --exec-root "$STATE/docker/exec" \
		--pidfile "$STATE/docker/dockerd.pid" \
		-H "unix://$DOCKER_SOCK" \
		--iptables=false --ip-masq=false
	wait_for "dockerd" 60 docker version
}

start() {
	local name=$1
	if running "$name"; then
		return 0
	fi
	log "starting $name"
	"start_$name"
}

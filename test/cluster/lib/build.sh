# shellcheck shell=bash
# Builds the Kubernetes binaries of one leg from the Go module proxy into
# $BIN_DIR, from that release's module (build/kube-v<version>/).
# Sourced by ../cluster; uses K8S_VERSION, BIN_DIR, KUBE_MODULE.

build_kube() {
	[[ -x $BIN_DIR/kube && -x $BIN_DIR/kubectl ]] || compile_kube
	local name
	for name in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet; do
		[[ -L $BIN_DIR/$name ]] || ln -sf kube "$BIN_DIR/$name"
	done
}

compile_kube() {
	command -v go >/dev/null || die "go is not on PATH (needed to build Kubernetes $K8S_VERSION)"
	[[ -f $KUBE_MODULE/go.mod ]] || die "no build module for Kubernetes $K8S_VERSION ($KUBE_MODULE/go.mod)"
	local minor=${K8S_VERSION#v1.}
	minor=${minor%%.*}
	local date ldflags="-s -w" pkg
	date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
		ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
	done
	local tmp=$BIN_DIR.tmp
	rm -rf "$tmp" && mkdir -p "$tmp"
	log "building Kubernetes $K8S_VERSION (etcd, apiserver, controller-manager, scheduler, kubelet, kubectl); takes ~5-10 min cold"
	# -s -w strips DWARF at link time; -dwarf=false spares generating it (a tenth of the compile).
	(
		cd "$KUBE_MODULE"
		export CGO_ENABLED=0 GOWORK=off
		go build -trimpath -gcflags=all=-dwarf=false -ldflags "$ldflags" -o "$tmp/kube" .
		go build -trimpath -gcflags=all=-dwarf=false -ldflags "$ldflags" -o "$tmp/kubectl" k8s.io/kubernetes/cmd/kubectl
	) >"$tmp.log" 2>&1 || { tail -n 40 "$tmp.log" >&2; die "building Kubernetes failed (log: $tmp.log)"; }
	mkdir -p "$(dirname "$BIN_DIR")"
	rm -rf "$BIN_DIR" && mv "$tmp" "$BIN_DIR"
	log "built $BIN_DIR"
}

# shellcheck shell=bash
# The container runtime of the newest leg: containerd and runc built from the
# Go module proxy (each release's own go.mod and go.sum), cached under
# $CACHE/containerd-v<version>-r$RUNTIME_REV and $CACHE/runc-v<version>-r$RUNTIME_REV.
# The oldest leg uses Debian's containerd 1.6 and runc (CONTAINERD_VERSION=debian).
# Sourced by ../cluster; uses CONTAINERD_VERSION, RUNC_VERSION, CACHE.

RUNTIME_REV=1 # bump when the way containerd or runc is built changes

containerd_dir() { echo "$CACHE/containerd-v$CONTAINERD_VERSION-r$RUNTIME_REV"; }
runc_dir() { echo "$CACHE/runc-v$RUNC_VERSION-r$RUNTIME_REV"; }

# The binaries this leg runs (Debian's for CONTAINERD_VERSION=debian).
containerd_bin() {
	if [[ $CONTAINERD_VERSION == debian ]]; then echo /usr/bin/containerd; else echo "$(containerd_dir)/containerd"; fi
}
ctr_bin() {
	if [[ $CONTAINERD_VERSION == debian ]]; then echo /usr/bin/ctr; else echo "$(containerd_dir)/ctr"; fi
}
runc_bin() {
	if [[ $CONTAINERD_VERSION == debian ]]; then echo /usr/sbin/runc; else echo "$(runc_dir)/runc"; fi
}

# module_source MODULE VERSION DEST: a writable copy of a module's source as
# published on the module proxy.
module_source() {
	local dir
	dir=$(cd / && GOFLAGS=-mod=mod GOWORK=off go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[[ -n $dir && -d $dir ]] || die "could not download $1@$2 from the Go module proxy"
	cp -r "$dir" "$3"
	chmod -R u+w "$3"
}

build_containerd() {
	[[ $CONTAINERD_VERSION == debian ]] && return 0
	local out tmp pkg=github.com/containerd/containerd/v2
	out=$(containerd_dir)
	[[ -x $out/containerd && -x $out/containerd-shim-runc-v2 && -x $out/ctr ]] && return 0
	command -v go >/dev/null || die "go is not on PATH (needed to build containerd $CONTAINERD_VERSION)"
	tmp=$out.tmp
	rm -rf "$tmp" && mkdir -p "$tmp"
	log "building containerd v$CONTAINERD_VERSION from the Go module proxy (~3-6 min cold)"
	(
		set -e
		module_source "$pkg" "v$CONTAINERD_VERSION" "$tmp/src"
		cd "$tmp/src"
		export CGO_ENABLED=0 GOWORK=off GOFLAGS=-mod=mod
		local ld="-s -w -X $pkg/version.Version=v$CONTAINERD_VERSION -X $pkg/version.Package=$pkg"
		local tags="no_btrfs no_devmapper no_zfs urfave_cli_no_docs"
		go build -trimpath -gcflags=all=-dwarf=false -tags "$tags" -ldflags "$ld" -o "$tmp/containerd" ./cmd/containerd
		go build -trimpath -gcflags=all=-dwarf=false -tags "$tags" -ldflags "$ld" -o "$tmp/ctr" ./cmd/ctr
		go build -trimpath -gcflags=all=-dwarf=false -tags "$tags" -ldflags "$ld" -o "$tmp/containerd-shim-runc-v2" ./cmd/containerd-shim-runc-v2
		cd / && rm -rf "$tmp/src"
	) >"$out.log" 2>&1 || { tail -n 40 "$out.log" >&2; die "building containerd failed (log: $out.log)"; }
	rm -rf "$out" && mv "$tmp" "$out"
	log "built $out"
}

# runc needs cgo (its nsenter is C) and libseccomp (Debian's libseccomp-dev).
build_runc() {
	[[ $CONTAINERD_VERSION == debian ]] && return 0
	local out tmp
	out=$(runc_dir)
	[[ -x $out/runc ]] && return 0
	command -v go >/dev/null || die "go is not on PATH (needed to build runc $RUNC_VERSION)"
	need_packages gcc:gcc pkg-config:pkg-config /usr/include/seccomp.h:libseccomp-dev
	tmp=$out.tmp
	rm -rf "$tmp" && mkdir -p "$tmp"
	log "building runc v$RUNC_VERSION from the Go module proxy (~1-2 min cold)"
	(
		set -e
		module_source github.com/opencontainers/runc "v$RUNC_VERSION" "$tmp/src"
		cd "$tmp/src"
		export CGO_ENABLED=1 GOWORK=off GOFLAGS=-mod=mod
		go build -trimpath -gcflags=all=-dwarf=false -buildmode=pie -tags "seccomp urfave_cli_no_docs" \
			-ldflags "-s -w -X main.gitCommit=v$RUNC_VERSION" -o "$tmp/runc" .
		cd / && rm -rf "$tmp/src"
	) >"$out.log" 2>&1 || { tail -n 40 "$out.log" >&2; die "building runc failed (log: $out.log)"; }
	rm -rf "$out" && mv "$tmp" "$out"
	log "built $out"
}

build_runtime() {
	build_runc
	build_containerd
}

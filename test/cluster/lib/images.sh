# shellcheck shell=bash
# The test images, built without a registry: root filesystems turned into
# docker-archive tarballs (manifest.json + config + one layer) in $IMG_DIR,
# imported into containerd (namespace k8s.io) and loaded into dockerd.

PAUSE_IMAGE=registry.k8s.io/pause:3.10
BUSYBOX_IMAGES=(docker.io/library/busybox:1.36 docker.io/library/busybox:latest)
DEBIAN_IMAGES=(docker.io/library/debian:bookworm-slim docker.io/library/python:3.11-slim docker.io/library/postgres:15)
HOSTILE_IMAGE=cscript.test/hostile:1
BASE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# make_archive OUT ROOTFS CONFIG_JSON TAG...: a docker-archive with one layer.
make_archive() {
	local out=$1 root=$2 config=$3 dir diff cfg arch tags
	shift 3
	dir=$(mktemp -d "$IMG_DIR/.archive.XXXXXX")
	tar -C "$root" --numeric-owner --sort=name -cf "$dir/layer.tar" $(cd "$root" && ls -A)
	diff=$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)
	mkdir "$dir/$diff"
	mv "$dir/layer.tar" "$dir/$diff/layer.tar"
	arch=$(dpkg --print-architecture)
	printf '{"architecture":"%s","os":"linux","created":"2025-01-01T00:00:00Z","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
		"$arch" "$config" "$diff" >"$dir/config.json"
	cfg=$(sha256sum "$dir/config.json" | cut -d' ' -f1)
	mv "$dir/config.json" "$dir/$cfg.json"
	tags=$(printf '"%s",' "$@")
	printf '[{"Config":"%s.json","RepoTags":[%s],"Layers":["%s/layer.tar"]}]' "$cfg" "${tags%,}" "$diff" >"$dir/manifest.json"
	tar -C "$dir" -cf "$out.tmp" manifest.json "$cfg.json" "$diff"
	mv "$out.tmp" "$out"
	rm -rf "$dir"
}

build_pause() {
	local root=$IMG_DIR/.pause-root
	rm -rf "$root" && mkdir -p "$root"
	(cd "$HERE/build" && CGO_ENABLED=0 GOWORK=off go build -trimpath -ldflags "-s -w" -o "$root/pause" ./pause)
	make_archive "$IMG_DIR/pause.tar" "$root" '{"Entrypoint":["/pause"],"User":"65535:65535"}' "$PAUSE_IMAGE"
	rm -rf "$root"
}

build_busybox() {
	local root=$IMG_DIR/.busybox-root applet
	rm -rf "$root" && mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var/tmp,home}
	cp /bin/busybox "$root/bin/busybox"
	for applet in $(/bin/busybox --list-full); do
		[[ -e $root/$applet ]] || ln -s /bin/busybox "$root/$applet"
	done
	chmod 1777 "$root/tmp" "$root/var/tmp"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
	make_archive "$IMG_DIR/busybox.tar" "$root" "{\"Env\":[\"PATH=$BASE_PATH\"],\"Cmd\":[\"sh\"]}" "${BUSYBOX_IMAGES[@]}"
	rm -rf "$root"
}

# build_hostile: busybox (with dash as sh) whose `tar`, when asked to create an archive (first
# argument --create, -c..., or c... as in `tar cf - DIR`), prints a crafted
# malicious one instead: $HOSTILE_TAR, else the content of /etc/hostile-tar,
# else "dotdot" names one of /hostile/*.tar (see build/hostile). Extraction
# and everything else is busybox's tar.
build_hostile() {
	local root=$IMG_DIR/.hostile-root applet
	rm -rf "$root" && mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,hostile}
	cp /bin/busybox "$root/bin/busybox"
	for applet in $(/bin/busybox --list-full); do
		[[ -e $root/$applet ]] || ln -s /bin/busybox "$root/$applet"
	done
	# busybox's own sh runs its tar applet without a PATH lookup: use dash.
	local lib
	cp /bin/dash "$root/bin/dash"
	ln -sf dash "$root/bin/sh"
	for lib in $(ldd /bin/dash | grep -o '/[^ ]*'); do
		cp --parents -L "$lib" "$root"
	done
	chmod 1777 "$root/tmp"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
	printf 'root:x:0:\n' >"$root/etc/group"
	(cd "$HERE/build" && GOWORK=off go run ./hostile "$root/hostile")
	rm "$root/bin/tar"
	cat >"$root/bin/tar" <<-'SH'
		#!/bin/sh
		# Hostile tar of the cscript.test/hostile:1 image (test/cluster/lib/images.sh).
		hostile() {
			mode=${HOSTILE_TAR:-$(cat /etc/hostile-tar 2>/dev/null || echo dotdot)}
			exec cat "/hostile/$mode.tar"
		}
		case ${1:-} in
		--create) hostile ;;
		--*) ;;
		-*c* | c* | [!-]*c*) hostile ;;
		esac
		exec /bin/busybox tar "$@"
	SH
	chmod 755 "$root/bin/tar"
	make_archive "$IMG_DIR/hostile.tar" "$root" "{\"Env\":[\"PATH=$BASE_PATH\"],\"Cmd\":[\"sh\"]}" "$HOSTILE_IMAGE"
	rm -rf "$root"
}

# build_debian: Debian minbase with bash, coreutils, tar, gzip, python3
# (python -> python3) and PostgreSQL 15 server and client. The postgres user
# is uid/gid 999 like the official image; PGDATA is set and its directory
# exists, owned by postgres; no database cluster is created.
build_debian() {
	local root=$IMG_DIR/.debian-root
	rm -rf "$root"
	debootstrap --variant=minbase "$DEBIAN_SUITE" "$root" "$MIRROR" >"$IMG_DIR/debootstrap.log" 2>&1 ||
		{ tail -n 30 "$IMG_DIR/debootstrap.log" >&2; die "debootstrap failed (log: $IMG_DIR/debootstrap.log)"; }
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" # start no services while installing
	chmod 755 "$root/usr/sbin/policy-rc.d"
	mkdir -p "$root/etc/postgresql-common"
	echo 'create_main_cluster = false' >"$root/etc/postgresql-common/createcluster.conf"
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	mount -t proc proc "$root/proc"
	(
		trap 'umount "$root/proc"' EXIT
		chroot "$root" /bin/sh -ec '
			groupadd -r -g 999 postgres
			useradd -r -g postgres -u 999 -d /var/lib/postgresql -s /bin/bash postgres
			apt-get update -q
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
				python3 postgresql-15 postgresql-client-15
			ln -sf python3 /usr/bin/python
			mkdir -p /var/lib/postgresql/data /run/postgresql
			chown postgres:postgres /var/lib/postgresql /var/lib/postgresql/data /run/postgresql
			chmod 700 /var/lib/postgresql/data
			chmod 2775 /run/postgresql
			apt-get clean
			rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/*.log \
				/usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/locale/*
		'
	) >>"$IMG_DIR/debootstrap.log" 2>&1 ||
		{ tail -n 30 "$IMG_DIR/debootstrap.log" >&2; die "installing packages into the Debian image failed (log: $IMG_DIR/debootstrap.log)"; }
	rm -f "$root/etc/resolv.conf" "$root/etc/hostname"
	make_archive "$IMG_DIR/debian.tar" "$root" \
		"{\"Env\":[\"PATH=/usr/lib/postgresql/15/bin:$BASE_PATH\",\"LANG=C.UTF-8\",\"PGDATA=/var/lib/postgresql/data\"],\"Cmd\":[\"bash\"]}" \
		"${DEBIAN_IMAGES[@]}"
	rm -rf "$root"
}

build_images() {
	mkdir -p "$IMG_DIR"
	[[ -f $IMG_DIR/pause.tar ]] || { log "building image $PAUSE_IMAGE" && build_pause; }
	[[ -f $IMG_DIR/busybox.tar ]] || { log "building image ${BUSYBOX_IMAGES[*]}" && build_busybox; }
	[[ -f $IMG_DIR/hostile.tar ]] || { log "building image $HOSTILE_IMAGE" && build_hostile; }
	[[ -f $IMG_DIR/debian.tar ]] || {
		log "building image ${DEBIAN_IMAGES[*]} with debootstrap (~2-4 min)"
		build_debian
	}
}

# import_images: into containerd's k8s.io namespace (for the kubelet), only
# the ones missing.
import_images() {
	local have tar first
	have=$(ctr -n k8s.io images ls -q)
	for tar in pause busybox hostile debian; do
		first=$(image_of "$tar")
		grep -qxF "$first" <<<"$have" && continue
		log "importing $IMG_DIR/$tar.tar into containerd"
		ctr -n k8s.io images import "$IMG_DIR/$tar.tar" >/dev/null
	done
}

# load_images: into dockerd, only the ones missing, then checks that each one
# can make a container. dockerd's store outlives the cluster (a state left up by
# an earlier run, a daemon killed while loading); an image whose layer a damaged
# store lost still inspects fine and fails only at create ("overlay2/<id>/link:
# no such file or directory"), so the first test to use it would fail instead.
# A damaged image is removed and loaded again; if that is not enough, dockerd's
# store is rebuilt from the archives.
load_images() {
	local tar image err
	for tar in busybox hostile debian; do
		image=$(image_of "$tar")
		if ! docker image inspect "$image" >/dev/null 2>&1; then
			log "loading $IMG_DIR/$tar.tar into dockerd"
			docker load -i "$IMG_DIR/$tar.tar" >/dev/null
		fi
		err=$(docker_create_error "$image") || continue
		log "dockerd cannot make a container of $image ($err); loading it again"
		# By id, so that every tag the archive loads (busybox:1.36 and :latest) lets go of its layers.
		docker image rm -f "$(docker image inspect -f '{{.Id}}' "$image")" >/dev/null 2>&1 || true
		docker load -i "$IMG_DIR/$tar.tar" >/dev/null 2>&1 || true
		docker_create_error "$image" >/dev/null || continue
		log "dockerd's store is damaged; rebuilding it from $IMG_DIR"
		reset_dockerd_store
		return
	done
}

# image_of TAR: the first tag the archive $IMG_DIR/TAR.tar holds.
image_of() {
	case $1 in
	pause) echo "$PAUSE_IMAGE" ;;
	busybox) echo "${BUSYBOX_IMAGES[0]}" ;;
	hostile) echo "$HOSTILE_IMAGE" ;;
	debian) echo "${DEBIAN_IMAGES[0]}" ;;
	esac
}

# docker_create_error IMAGE: when dockerd cannot create a container of IMAGE
# (created, not started, then removed), prints why and succeeds; else fails.
docker_create_error() {
	local id
	if id=$(docker create --network none "$1" true 2>"$STATE/docker/create.err"); then
		docker rm -f "$id" >/dev/null 2>&1 || true
		return 1
	fi
	tail -n 1 "$STATE/docker/create.err"
}

# reset_dockerd_store: stop dockerd, remove its store, start it and load every archive.
reset_dockerd_store() {
	local tar err
	stop dockerd
	umount_under "$STATE/docker"
	rm -rf "$STATE/docker/root"
	start dockerd
	for tar in busybox hostile debian; do
		log "loading $IMG_DIR/$tar.tar into dockerd"
		docker load -i "$IMG_DIR/$tar.tar" >/dev/null
		if err=$(docker_create_error "$(image_of "$tar")"); then
			die "dockerd cannot make a container of $(image_of "$tar") from a new store: $err (log: $LOGS/dockerd.log)"
		fi
	done
}

#!/bin/sh
# Builds the agent for every architecture cscript carries it for (run by
# `go generate ./transfer/agentbin`, in this directory). Static, stripped and
# reproducible: the same source gives the same bytes, so the same name in
# the container.
set -eu
for arch in amd64 arm64; do
	CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -buildvcs=false -ldflags='-s -w -buildid=' \
		-o "bin/cscript-agent-linux-$arch.tmp" ../../cmd/cscript-agent
	mv "bin/cscript-agent-linux-$arch.tmp" "bin/cscript-agent-linux-$arch"
done

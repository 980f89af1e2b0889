# The two commands of the README:
#   make demo   set everything up (the local test cluster included) and run the examples against it
#   make test   run every test: unit, git against a local git daemon, end to end on the local cluster, fuzzing
SHELL := /bin/bash
GO ?= go
BIN := bin/cscript
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(shell git rev-parse --short HEAD 2>/dev/null) -X main.date=$(shell date -u +%Y-%m-%dT%H:%M:%SZ)
FUZZTIME ?= 20s

.PHONY: build agent test unit e2e soak fuzz demo cluster-up cluster-down bench clean

# The transfer agent (cmd/cscript-agent) for linux/amd64 and arm64, embedded
# into cscript (transfer/agentbin). Fast when nothing changed (go's cache).
agent:
	$(GO) generate ./transfer/agentbin

build: agent
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) .

# Debian packages the tests use (busybox and dash run real shells in unit tests, the cluster needs the rest).
deps:
	test/cluster/cluster deps

unit: agent
	$(GO) vet ./...
	$(GO) test -count=1 ./...

cluster-up:
	test/cluster/cluster up

cluster-down:
	test/cluster/cluster down

e2e: build cluster-up
	CSCRIPT_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -tags e2e -timeout 40m ./test/e2e/...

# Nightly-style: 200 runs one after the other (no leftovers, no growth in run
# time or memory). Not part of `make test`.
soak: build cluster-up
	CSCRIPT_E2E_SOAK=1 CSCRIPT_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -tags e2e -timeout 60m -run 'TestReliabilitySoak' -v ./test/e2e/

fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)

test: deps unit e2e fuzz

demo: build cluster-up
	bash scripts/demo.sh

bench: build cluster-up
	bash tools/bench/run.sh

clean:
	rm -rf bin dist transfer/agentbin/bin/cscript-agent-*

# The two commands of the README:
#   make demo   set everything up (the local test cluster included) and run the examples against it
#   make test   run every test: unit, git against a local git daemon, end to end on the local cluster, fuzzing
SHELL := /bin/bash
GO ?= go
BIN := bin/cscript
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(shell git rev-parse --short HEAD 2>/dev/null) -X main.date=$(shell date -u +%Y-%m-%dT%H:%M:%SZ)
FUZZTIME ?= 20s

.PHONY: build agent test unit staticcheck cross cross-full e2e soak fuzz demo cluster-up cluster-down bench clean

# The transfer agent (cmd/cscript-agent) for linux/amd64 and arm64, embedded
# into cscript (transfer/agentbin). Fast when nothing changed (go's cache).
agent:
	$(GO) generate ./transfer/agentbin

# How the release builds (.goreleaser.yaml): static, paths trimmed, no DWARF (the release's
# `-s -w` strips it at link time anyway; not generating it saves a tenth of the compile).
# `make build`, `make cross`, vet, the unit tests and the end-to-end tests all compile this way,
# so that one compiled dependency graph serves them all: a new machine compiles it once per
# platform, not once per step (a whole graph costs about 4 minutes here). Only -race needs cgo,
# and a graph of its own.
RELEASE_ENV := CGO_ENABLED=0
RELEASE_FLAGS := -trimpath -gcflags=all=-dwarf=false

build: agent
	$(RELEASE_ENV) $(GO) build $(RELEASE_FLAGS) -ldflags "$(LDFLAGS)" -o $(BIN) .

# Debian packages the tests use (busybox and dash run real shells in unit tests, the cluster needs the rest).
deps:
	test/cluster/cluster deps

# staticcheck, pinned (v0.8.2 is its release 2026.2.2, the first for Go 1.26), installed
# from the module proxy into bin/tools.
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(CURDIR)/bin/tools/staticcheck

$(STATICCHECK): Makefile
	GOBIN=$(CURDIR)/bin/tools $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# With the release's flags, so that the export data it has go list compile is the same
# compiled graph vet and the tests use (without them, a cold machine compiles it twice).
staticcheck: $(STATICCHECK)
	$(RELEASE_ENV) GOFLAGS="$(RELEASE_FLAGS)" $(STATICCHECK) ./...

# The race detector on the packages whose tests exercise concurrency (goroutines around
# pipes, locks, watchers and streaming writers); the other packages run without it.
# Measured on this 2-core machine, shared with a cluster and other builds (load average
# 12 to 36): `go test -count=1 ./...` took 3 min 44 s; `go test -race -count=1 ./...`
# 26 min 0 s (its first run, which also builds every dependency with -race), far past the
# 8 minutes `make unit` may take. These packages' tests took about 3 min of that.
RACE_PKGS := history internal/tailbuf lifecycle redact runner runner/kube transfer
MODULE := $(shell $(GO) list -m)

# Every platform .goreleaser.yaml releases for is checked on each commit, so that a platform
# break is red the day it lands. A platform break in Go source (syscall.Flock on windows, a
# symbol a build constraint leaves undefined on darwin) is a type error for that platform, so
# tools/crosscheck type-checks the module, its tests and every dependency down to the standard
# library from source for each of the six (about 5 s each, warm or cold), and linux/amd64 is
# built (its graph is the tests'). What it leaves to `make cross-full` is what only a compiler
# back end and vet find: compiling and linking each platform, and vet's checks of windows and
# darwin. That costs a new machine about 3 min 45 s per platform and 2 min 10 s per vet, 27 min
# in all on 2 cores, more than a quarter of CI's 90; the release runs it (.goreleaser.yaml's
# before hooks), and so does anyone touching build constraints or an OS-specific file.
CROSS_GOOS := $(shell sed -n 's/^ *goos: *\[\(.*\)\]/\1/p' .goreleaser.yaml | tr -d ,)
CROSS_GOARCH := $(shell sed -n 's/^ *goarch: *\[\(.*\)\]/\1/p' .goreleaser.yaml | tr -d ,)
CROSS_VET := windows/amd64 darwin/amd64

cross: agent
	@test -n "$(CROSS_GOOS)" -a -n "$(CROSS_GOARCH)" || { echo "cross: no goos/goarch in .goreleaser.yaml" >&2; exit 1; }
	$(GO) run ./tools/crosscheck $(foreach os,$(CROSS_GOOS),$(foreach arch,$(CROSS_GOARCH),-target $(os)/$(arch)))
	GOOS=linux GOARCH=amd64 $(RELEASE_ENV) $(GO) build $(RELEASE_FLAGS) -o /dev/null .

cross-full: agent
	@test -n "$(CROSS_GOOS)" -a -n "$(CROSS_GOARCH)" || { echo "cross: no goos/goarch in .goreleaser.yaml" >&2; exit 1; }
	@set -e; for os in $(CROSS_GOOS); do for arch in $(CROSS_GOARCH); do \
		echo "build $$os/$$arch"; GOOS=$$os GOARCH=$$arch $(RELEASE_ENV) $(GO) build $(RELEASE_FLAGS) -o /dev/null . ; \
	done; done
	@set -e; for t in $(CROSS_VET); do \
		echo "vet $$t"; GOOS=$${t%/*} GOARCH=$${t#*/} $(RELEASE_ENV) $(GO) vet $(RELEASE_FLAGS) ./... ; \
	done

unit: agent staticcheck cross
	$(RELEASE_ENV) $(GO) vet $(RELEASE_FLAGS) ./...
	$(RELEASE_ENV) $(GO) test $(RELEASE_FLAGS) -count=1 $$($(GO) list ./... | grep -vxE '$(MODULE)/($(subst $(eval) ,|,$(RACE_PKGS)))')
	$(GO) test -race -gcflags=all=-dwarf=false -count=1 $(addprefix ./,$(RACE_PKGS))

# The Kubernetes releases the test cluster builds (test/cluster/lib/common.sh): the newest
# runs containerd 2 and runc built from the module proxy, the oldest the README promises runs
# Debian's containerd 1.6. `make e2e` (scripts/e2e.sh) runs the whole suite on E2E_KUBERNETES
# (the newest), then, with E2E_OLDEST_LEG=1 (the default), stops the cluster checking that no
# mount is left behind and runs the runner, transfer, job, lifecycle and signal tests on the
# oldest. E2E_OLDEST_LEG=0: one leg only.
K8S_NEWEST := $(shell sed -n 's/^NEWEST_KUBERNETES=//p' test/cluster/lib/common.sh)
K8S_OLDEST := $(shell sed -n 's/^OLDEST_KUBERNETES=//p' test/cluster/lib/common.sh)
E2E_KUBERNETES ?= $(K8S_NEWEST)
E2E_OLDEST_LEG ?= 1

cluster-up:
	test/cluster/cluster up --kubernetes $(E2E_KUBERNETES)

cluster-down:
	test/cluster/cluster down

e2e: build
	E2E_KUBERNETES=$(E2E_KUBERNETES) E2E_OLDEST_LEG=$(E2E_OLDEST_LEG) GO_TEST="env $(RELEASE_ENV) $(GO) test $(RELEASE_FLAGS)" \
		CSCRIPT_BIN=$(CURDIR)/$(BIN) bash scripts/e2e.sh

# Nightly-style: 200 runs one after the other (no leftovers, no growth in run
# time or memory). Not part of `make test`.
soak: build cluster-up
	CSCRIPT_E2E_SOAK=1 CSCRIPT_BIN=$(CURDIR)/$(BIN) $(RELEASE_ENV) $(GO) test $(RELEASE_FLAGS) -count=1 -tags e2e -timeout 60m -run 'TestReliabilitySoak' -v ./test/e2e/

fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)

test: deps unit e2e fuzz

demo: build cluster-up
	bash scripts/demo.sh

# The benchmarks also measure an earlier build beside this one (tools/bench/run.sh builds it):
# by default the last commit before the run-core redesign, so that docs/benchmarks.md shows
# on one machine, in one run, that the redesign cost nothing. BENCH_BASELINE= for none.
BENCH_BASELINE ?= 9eb5237

bench: build cluster-up
	BENCH_BASELINE=$(BENCH_BASELINE) bash tools/bench/run.sh

clean:
	rm -rf bin dist transfer/agentbin/bin/cscript-agent-*

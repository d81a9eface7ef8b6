# runbook: build, test, benchmark. `make test` is the test command CI runs.
GO ?= go

.PHONY: fuzz build test test-unit test-vm lint bench clean lab lab-containers lab-image lab-up lab-down

build:
	CGO_ENABLED=0 $(GO) build -buildvcs=auto -o bin/runbook ./cmd/runbook

# Installs what the tests need (sshd, sudo, PostgreSQL, pgpool-II; as root),
# then runs every test tier that fits on one machine.
test:
	./scripts/test-deps.sh
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) test -count=1 -timeout 75m ./...
	FUZZTIME=10s ./scripts/fuzz.sh

# Every fuzz target for FUZZTIME each (default 15s); crashers land in the
# package's testdata/fuzz/ and run as tests from then on.
fuzz:
	./scripts/fuzz.sh

# The real-VM tier: site.yaml from nothing on four software-emulated VMs in
# libvirtd inside the lab namespace, a second run with changed=0, teardown.
# RUNBOOK_VM_PHASES=stress,failclosed,... runs some phases, and
# RUNBOOK_VM_DRILLS=kill,partition-primary some drills of a phase.
test-vm:
	./scripts/test-deps.sh
	RUNBOOK_VM_TESTS=1 $(GO) test -count=1 -timeout 175m -v -run 'TestSiteOnVMs' ./internal/testrig/testlab/

# Pure-logic tests only (no sshd, no servers).
test-unit:
	$(GO) test -short ./...

lint:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }

# Side-by-side speed table: runbook, tuned Ansible and a bare SSH loop on
# N loopback sshd hosts (bench/README.md).
bench:
	./scripts/test-deps.sh
	./bench/run.sh

# The test lab for people: four systemd hosts (postgres1..3, postgres-client)
# in network namespaces; run runbook against them with --netns rblab.
lab-image:
	./scripts/lab-deps.sh
	$(GO) run ./internal/testrig/testlab/cmd/testlab image

lab-up:
	./scripts/lab-deps.sh
	$(GO) run ./internal/testrig/testlab/cmd/testlab up 4

# The main job: the lab on four VMs on this host (scripts/lab.sh): site.yaml
# with no inventory; on a host without systemd, libvirtd runs inside the
# lab's network namespace. `runbook play destroy.yaml` removes the VMs.
lab: build
	./scripts/lab.sh

# The same playbooks on four local systemd containers (about 50 s).
lab-containers: build lab-up
	./bin/runbook play site.yaml -i /var/lib/runbook-testlab/inventory.yaml --netns rblab \
		--known-hosts /var/lib/runbook-testlab/known_hosts --ssh-accept-new

lab-down:
	$(GO) run ./internal/testrig/testlab/cmd/testlab down

clean:
	rm -rf bin

#!/bin/sh
# The main job: the PostgreSQL HA lab on four VMs on this host, built by the
# embedded site.yaml with no inventory (this machine is the hypervisor).
set -eu
cd "$(dirname "$0")/.."
if [ -d /run/systemd/system ] && [ -z "${RUNBOOK_LAB_NETNS:-}" ]; then
  # an ordinary host: site.yaml installs and starts libvirt itself
  exec ./bin/runbook play site.yaml "$@"
fi
# No systemd (containers, this project's CI machines): libvirtd runs inside
# the network namespace rblab, started by the test-lab harness, with the
# guests' packages from the lab's local repository (the namespace has no
# uplink). The VMs and their network exist only in that namespace.
./scripts/lab-deps.sh
if [ ! -S /run/libvirt/libvirt-sock ]; then
  go run ./internal/testrig/testlab/cmd/testlab up 0
  go run ./internal/testrig/testlab/cmd/testlab libvirtd
fi
exec ./bin/runbook play site.yaml --netns rblab \
  -e '{"guest_apt_sources": "deb [trusted=yes] http://192.168.100.1:8080/ ./"}' "$@"

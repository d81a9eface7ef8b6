#!/bin/sh
# Installs what `make lab` needs on a host without systemd (as root): the
# lab harness that runs libvirtd in the lab's network namespace (iproute2,
# dnsmasq, a Python HTTP server for the guests' local package repository,
# debootstrap and apt-ftparchive for that repository and the base image),
# QEMU and libvirt. Nothing the tests alone need. Safe to re-run.
set -eu
need=""
command -v ip >/dev/null 2>&1 || need="$need iproute2"
[ -x /usr/bin/python3 ] || need="$need python3"
command -v ssh-keygen >/dev/null 2>&1 || need="$need openssh-client"
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || need="$need debootstrap"
command -v systemd-nspawn >/dev/null 2>&1 || need="$need systemd-container"
command -v dnsmasq >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ] || need="$need dnsmasq-base"
command -v apt-ftparchive >/dev/null 2>&1 || need="$need apt-utils"
# hypervisor modules: disks and NoCloud seeds; the VMs (KVM or emulation)
command -v qemu-img >/dev/null 2>&1 || need="$need qemu-utils"
command -v genisoimage >/dev/null 2>&1 || need="$need genisoimage"
[ -x /usr/bin/qemu-system-x86_64 ] || need="$need qemu-system-x86"
# libvirtd, started inside the lab namespace (never by systemd)
[ -x /usr/sbin/libvirtd ] || need="$need libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients"
if [ -n "$need" ]; then
  echo "installing:$need"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $need >/dev/null
fi

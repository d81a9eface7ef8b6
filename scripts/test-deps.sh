#!/bin/sh
# Installs what the tests need on a fresh Debian/Ubuntu machine (as root),
# and the unprivileged user the become tests log in as. Safe to re-run.
set -eu
# the lab's own needs first (the tests build the lab too)
"$(dirname "$0")/lab-deps.sh"
need=""
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || need="$need openssh-server"
command -v ssh >/dev/null 2>&1 || need="$need openssh-client"
command -v sudo >/dev/null 2>&1 || need="$need sudo"
[ -x /usr/lib/postgresql/15/bin/postgres ] || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need="$need postgresql"
command -v pgpool >/dev/null 2>&1 || [ -x /usr/sbin/pgpool ] || need="$need pgpool2"
# the oracle for inventory parsing (ansible-inventory) and the benchmark's peer
command -v ansible-inventory >/dev/null 2>&1 || need="$need ansible-core"
# Ansible's collections (mount is ansible.posix.mount in ansible-core 2.14)
[ -d /usr/lib/python3/dist-packages/ansible_collections/ansible/posix ] || need="$need ansible"
# modules compared with Ansible's: cron, git, get_url/uri (curl), unarchive
command -v crontab >/dev/null 2>&1 || need="$need cron"
command -v git >/dev/null 2>&1 || need="$need git"
command -v curl >/dev/null 2>&1 || need="$need curl"
command -v unzip >/dev/null 2>&1 || need="$need unzip"
command -v zip >/dev/null 2>&1 || need="$need zip"
command -v gpg >/dev/null 2>&1 || need="$need gpg"
[ -x /usr/sbin/iptables ] || need="$need iptables"
command -v setcap >/dev/null 2>&1 || [ -x /usr/sbin/setcap ] || need="$need libcap2-bin"
command -v rpm >/dev/null 2>&1 || need="$need rpm"
command -v svn >/dev/null 2>&1 || need="$need subversion"
# Ansible runs /usr/bin/python3, not the python3 first on PATH (pyenv here)
/usr/bin/python3 -c 'import pexpect' 2>/dev/null || need="$need python3-pexpect"
# json_query's oracle (community.general's filter needs Python's jmespath)
/usr/bin/python3 -c 'import jmespath' 2>/dev/null || need="$need python3-jmespath"
# ansible.utils' ipaddr filters, the IP filters' oracle, need Python's netaddr
/usr/bin/python3 -c 'import netaddr' 2>/dev/null || need="$need python3-netaddr"
# the slow-disk drill's fault injection, also on this machine for its test
command -v strace >/dev/null 2>&1 || need="$need strace"
if [ -n "$need" ]; then
  echo "installing:$need"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
# Debian's postgresql package starts a cluster; the tests start their own.
if command -v pg_lsclusters >/dev/null 2>&1; then
  pg_lsclusters -h 2>/dev/null | while read -r ver name _; do pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true; done
fi
# The become tests log in as this user and sudo with its password.
if ! id runbook-test >/dev/null 2>&1; then
  useradd -m -s /bin/sh runbook-test
fi
echo 'runbook-test:runbook-test-pw' | chpasswd
echo 'runbook-test ALL=(ALL) ALL' > /etc/sudoers.d/runbook-test
chmod 0440 /etc/sudoers.d/runbook-test
mkdir -p /run/sshd

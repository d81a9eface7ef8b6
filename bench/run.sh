#!/bin/sh
# Prints runbook vs a bare SSH loop vs tuned Ansible on N loopback hosts with
# M noop tasks (BENCH_HOSTS, BENCH_TASKS; default 10 and 50).
set -eu
cd "$(dirname "$0")/.."
command -v ansible-playbook >/dev/null 2>&1 || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ansible-core >/dev/null
}
out=$(go test -run '^$' -bench 'BenchmarkNoop' -benchtime "${BENCH_RUNS:-3}x" ./bench/)
echo "$out" | grep -E '^(Benchmark|ok|FAIL)' >&2
echo "$out" | awk -v n="${BENCH_HOSTS:-10}" -v m="${BENCH_TASKS:-50}" '
/^BenchmarkNoop\// { split($1, p, "/"); name=p[2]; sub(/-[0-9]+$/, "", name); t[name]=$3/1e9 }
END {
  printf "noop workload: %d hosts x %d tasks of /bin/true\n", n, m
  printf "%-10s %10s %12s\n", "runner", "seconds", "vs floor"
  for (k in t) printf "%-10s %10.2f %11.1fx\n", k, t[k], t[k]/t["floor"]
  if ("ansible" in t) printf "runbook is %.0fx faster than tuned Ansible\n", t["ansible"]/t["runbook"]
}'

#!/bin/sh
# Prints runbook vs the SSH floor vs tuned Ansible (10 hosts only) on
# loopback sshd hosts, M noop tasks each, for every size in BENCH_SIZES
# (default 10x50,200x10,1000x10), BENCH_RUNS runs each (default 1).
set -eu
cd "$(dirname "$0")/.."
command -v ansible-playbook >/dev/null 2>&1 || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ansible-core >/dev/null
}
export BENCH_SIZES="${BENCH_SIZES:-10x50,200x10,1000x10}"
out=$(go test -run '^$' -bench 'BenchmarkFleet' -benchtime "${BENCH_RUNS:-1}x" -timeout 60m ./bench/)
echo "$out" | grep -E '^(Benchmark|ok|FAIL|---)' >&2
echo "$out" | awk '
/^BenchmarkFleet\// {
  split($1, p, "/"); size=p[2]; name=p[3]; sub(/-[0-9]+$/, "", name)
  for (i = 3; i <= NF; i++) { if ($(i+1) == "ns/op") wall=$i/1e9; if ($(i+1) == "cpu-s/op") cpu=$i; if ($(i+1) == "peak-MB") rss=$i }
  key=size SUBSEP name; W[key]=wall; C[key]=cpu; R[key]=rss
  if (!(size in seen)) { seen[size]=1; order[++ns]=size }
  split(size, hm, "x"); ht[size]=hm[1]*hm[2]
}
END {
  printf "%-9s %-16s %9s %9s %10s %12s %14s %8s\n", "size", "runner", "wall s", "vs floor", "CPU s", "CPU vs floor", "CPU/host-task", "peak MB"
  for (i = 1; i <= ns; i++) {
    s = order[i]
    for (j = 1; j <= 4; j++) {
      r = (j == 1 ? "floor" : j == 2 ? "runbook" : j == 3 ? "runbook-sessions" : "ansible")
      k = s SUBSEP r
      if (!(k in W)) continue
      printf "%-9s %-16s %9.2f %8.2fx %10.2f %11.2fx %12.2fms %8.0f\n", s, r, W[k], W[k]/W[s SUBSEP "floor"], C[k], C[k]/C[s SUBSEP "floor"], 1000*C[k]/ht[s], R[k]
    }
  }
}'

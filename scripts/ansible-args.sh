#!/bin/sh
# Regenerates modules/ansibleargs.json: every documented argument (with
# its default and type) of the Ansible modules runbook has, from Debian's
# ansible-doc (the oracle). Run after adding a module.
set -eu
cd "$(dirname "$0")/.."
# a module's Ansible name: ansible.builtin's, else a collection's (the
# Debian package "ansible" carries community.postgresql, ansible.posix...)
mods=$(go run ./cmd/runbook doc | awk '{print $1}')
avail=$(ansible-doc -l -t module | awk '{print $1}')
want=""
for m in $mods template; do
  fq=$(echo "$avail" | grep -x "ansible\.builtin\.$m" || echo "$avail" | grep -E "^[a-z_]+\.[a-z_]+\.$m\$" | head -1 || true)
  [ -n "$fq" ] && want="$want $fq"
done
ansible-doc --json -t module $want | python3 -c '
import json, sys
d = json.load(sys.stdin)
out = {}
for full, v in d.items():
    opts = v["doc"].get("options", {}) or {}
    m = {}
    for k, o in opts.items():
        m[k] = {"default": o.get("default"), "type": o.get("type", "str")}
        for a in o.get("aliases", []) or []:
            m[a] = dict(m[k]); m[a]["alias_of"] = k
    out[full.split(".")[-1]] = m
json.dump(out, open("modules/ansibleargs.json", "w"), sort_keys=True, separators=(",", ":"))
'

#!/bin/sh
# The public-roles measure (issue: Ansible round 2): each source (a role or
# playbook project, as a folder or a bare git directory's HEAD) is converted
# with `runbook convert` and every playbook in it (molecule's converge and
# friends, tests/, top-level plays) checked with `runbook play
# --syntax-check`; a source passes when every one does. Ansible's own
# verdict on the originals is printed beside it when ansible-playbook is
# installed (a source Ansible refuses does not count against runbook).
#   scripts/public-roles.sh SRC...      (default: /work/.mirror/*/repo)
# BIN is the runbook binary (default bin/runbook). Prints one line per
# source and a total; the converted trees stay in $OUT (default a temp dir).
set -u
BIN=${BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin/runbook}
OUT=${OUT:-$(mktemp -d)}
[ $# -gt 0 ] || set -- /work/.mirror/*/repo
pass=0 total=0
for src in "$@"; do
  name=$(basename "$(dirname "$src")")
  [ "$(basename "$src")" = repo ] || name=$(basename "$src")
  # a checkout is named after its repository (molecule's playbooks name
  # the role so: role: ansible-grafana)
  tree=$OUT/$name/${name#*+}
  rm -rf "$OUT/$name" && mkdir -p "$tree"
  if [ -d "$src/objects" ]; then
    git --git-dir="$src" archive HEAD | tar -x -C "$tree" 2>/dev/null
  else
    cp -r "$src/." "$tree"
  fi
  "$BIN" convert "$tree" -o "$OUT/$name/converted" >"$OUT/$name/convert.log" 2>&1
  conv=$OUT/$name/converted/$(basename "$tree")
  [ -d "$conv" ] || conv=$OUT/$name/converted
  books=$(cd "$conv" && grep -rlE '^- *(hosts|import_playbook|ansible\.builtin\.import_playbook):|^  hosts:' --include='*.yml' --include='*.yaml' . 2>/dev/null |
    grep -vE '/(tasks|handlers|vars|defaults|meta|templates|files|group_vars|host_vars)/|/\.' | sort |
    while read -r f; do
      # a playbook is a list: its first line of content opens an item
      first=$(grep -vE '^\s*(#|$|---)' "$conv/$f" | head -1)
      case "$first" in -*) echo "$f" ;; esac
    done)
  [ -n "$books" ] || { echo "$name: no playbook found"; continue; }
  total=$((total + 1))
  bad=0 n=0 why=""
  for b in $books; do
    n=$((n + 1))
    # molecule runs its playbooks with the project folder in MOLECULE_PROJECT_DIRECTORY
    if ! (cd "$(dirname "$conv/$b")" && MOLECULE_PROJECT_DIRECTORY=$conv "$BIN" play "$(basename "$b")" --syntax-check >"$OUT/$name/check.log" 2>&1); then
      bad=$((bad + 1))
      [ -n "$why" ] || why="$b: $(grep -m1 -E 'ERROR|error|:[0-9]+:[0-9]+:' "$OUT/$name/check.log" | cut -c1-160)"
    fi
  done
  verdict=pass
  [ "$bad" = 0 ] && pass=$((pass + 1)) || verdict="FAIL ($bad of $n) $why"
  echo "$name: $n playbooks: $verdict"
done
echo "sources passing whole: $pass of $total (trees in $OUT)"

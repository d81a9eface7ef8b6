#!/bin/sh
# Runs every fuzz target briefly (FUZZTIME, default 15s each). A crasher is
# written by go test under the package's testdata/fuzz/ and then runs as an
# ordinary test case on every `go test`: commit it with the fix.
set -eu
cd "$(dirname "$0")/.."
t=${FUZZTIME:-15s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for target in \
  ./playbooks:FuzzLoadPlaybook ./playbooks:FuzzParseKV \
  ./inventory:FuzzInventoryYAML ./inventory:FuzzInventoryINI \
  ./internal/cond:FuzzCondition ./templates:FuzzTemplate ./convert:FuzzConvertTemplate ./internal/shellwords:FuzzSplit \
  ./modules/builtin:FuzzIniEdit ./modules:FuzzMode ./internal/diag:FuzzParseYAML ./internal/history:FuzzCheck ./internal/vault:FuzzOpen \
  ./transport:FuzzMarkerReader
do
  pkg=${target%%:*}; fn=${target#*:}
  echo "fuzz $fn ($pkg, $t)"
  go test -run '^$' -fuzz "^$fn\$" -fuzztime "$t" "$pkg" >"$log" 2>&1 || { cat "$log"; exit 1; }
done

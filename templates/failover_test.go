package templates

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakePsql answers as each node's scenario file says, one line per
// question (the last line repeats): "t|LSN|UPSTREAM" or "f|LSN|" (an
// answer), hang, refused, auth, empty, slow:ANSWER (the answer after 1.5 s,
// longer than the first round's timeout). pg_promote is recorded; a promoted
// node answers "f" after it unless NODE.nopromote exists, in which case it
// stops answering, and if NODE.slow exists it answers after 1.5 s; with
// NODE.slowpromote the request takes 1.5 s to arrive (a shorter timeout
// cuts it off before the node gets it). ALTER SYSTEM is recorded.
const fakePsql = `#!/bin/sh
while [ $# -gt 0 ]; do
  case "$1" in -h) h=$2; shift ;; -p) p=$2; shift ;; -c) sql=$2; shift ;; esac
  shift
done
node="$FAKE/$h:$p"
case "$sql" in
  *pg_promote*)
    [ -e "$node.slowpromote" ] && sleep 1.5
    echo "promote $h" >> "$FAKE/calls"
    if [ -e "$node.nopromote" ]; then : > "$node.gone"; else : > "$node.promoted"; fi
    echo t; exit 0 ;;
  *synchronous_standby_names*) echo "alter $h sync off" >> "$FAKE/calls"; exit 0 ;;
  *"ALTER SYSTEM"*) echo "alter $h $(echo "$sql" | sed -n "s/.*host=\([^ ]*\) port=\([0-9]*\).*/\1:\2/p")" >> "$FAKE/calls"; exit 0 ;;
  *SyncRep*) cat "$node.syncrep" 2>/dev/null || echo 0; exit 0 ;;
  *pg_reload_conf*) echo t; exit 0 ;;
esac
[ -e "$node.gone" ] && { echo "connection refused" >&2; exit 2; }
[ -e "$node.promoted" ] && { [ -e "$node.slow" ] && sleep 1.5; echo "f|0/FFFFFF|"; exit 0; }
n=$(cat "$node.n" 2>/dev/null || echo 0); echo $((n + 1)) > "$node.n"
total=$(wc -l < "$node")
[ "$n" -ge "$total" ] && n=$((total - 1))
line=$(sed -n "$((n + 1))p" "$node")
case "$line" in
  hang) exec sleep 30 ;;
  slow:*) sleep 1.5; echo "${line#slow:}" ;;
  refused) echo "could not connect: Connection refused" >&2; exit 2 ;;
  auth) echo "FATAL: password authentication failed" >&2; exit 2 ;;
  empty) exit 0 ;;
  *) echo "$line" ;;
esac
`

// fakePcp: node status 3 (down) until pcp_attach_node, then 1.
const fakePcpInfo = `#!/bin/sh
while [ $# -gt 0 ]; do [ "$1" = -n ] && id=$2; shift; done
if [ -e "$FAKE/attached.$id" ]; then echo "h 5432 1 0.3 up"; else echo "h 5432 3 0.3 down"; fi
`
const fakePcpAttach = `#!/bin/sh
while [ $# -gt 0 ]; do [ "$1" = -n ] && id=$2; shift; done
: > "$FAKE/attached.$id"; echo "attach $id" >> "$FAKE/calls"
`

// The failover decision as a table: what failover.sh does for each way
// the nodes can answer (or not) when pgpool reports a failed node. It
// runs the real script with sh, against fake psql and pcp commands.
func TestFailoverDecisions(t *testing.T) {
	if _, err := exec.LookPath("timeout"); err != nil {
		t.Skip("coreutils timeout missing")
	}
	vars := labVars()
	vars["pgpool_backends"] = []any{
		map[string]any{"host": "10.0.0.1", "port": 5432, "name": "postgres1"},
		map[string]any{"host": "10.0.0.2", "port": 5432, "name": "postgres2"},
		map[string]any{"host": "10.0.0.3", "port": 5432, "name": "postgres3"},
	}
	text, _ := fs.ReadFile(Files, "files/failover.sh.tmpl")
	script, err := Render("failover.sh", string(text), vars)
	if err != nil {
		t.Fatal(err)
	}
	const p1, p2, p3 = "10.0.0.1:5432", "10.0.0.2:5432", "10.0.0.3:5432"
	// pgpool's arguments: %d %h %p %D %m %H %M %P %r %R %N %S
	primaryDied := []string{"0", "10.0.0.1", "5432", "/d", "1", "10.0.0.2", "0", "0", "5432", "/d", "10.0.0.1", "5432"}
	primaryDiedMainCascade := []string{"0", "10.0.0.1", "5432", "/d", "2", "10.0.0.3", "0", "0", "5432", "/d", "10.0.0.1", "5432"}
	standbyDied := []string{"1", "10.0.0.2", "5432", "/d", "0", "10.0.0.1", "0", "0", "5432", "/d", "10.0.0.1", "5432"}
	standbyDiedNoPrimary := []string{"1", "10.0.0.2", "5432", "/d", "2", "10.0.0.3", "0", "-1", "5432", "/d", "", ""}
	cases := []struct {
		name     string
		args     []string
		nodes    map[string]string // node -> scenario lines
		extra    []string          // files to create (NODE.nopromote)
		files    map[string]string // files with content (NODE.syncrep: backends waiting for a synchronous standby)
		syncWait string            // RUNBOOK_FAILOVER_SYNC_WAIT ("" is 0: no watch)
		calls    string            // what the script did, in order
		logHas   string
	}{
		{name: "primary killed: the synchronous standby is promoted, the cascade left to follow",
			args:  primaryDied,
			nodes: map[string]string{p2: "t|0/500|10.0.0.1:5432", p3: "t|0/400|10.0.0.2:5432"},
			calls: "promote 10.0.0.2|attach 1", logHas: "promoted postgres2"},
		{name: "the new main node hangs, then answers: wait for it, promote it",
			args:  primaryDied,
			nodes: map[string]string{p2: "hang\nt|0/500|10.0.0.1:5432", p3: "t|0/400|10.0.0.2:5432"},
			calls: "promote 10.0.0.2|attach 1", logHas: "waiting for postgres2"},
		{name: "the new main node is slow to answer (a loaded VM): each round asks longer, it is promoted",
			args:  primaryDied,
			nodes: map[string]string{p2: "slow:t|0/500|10.0.0.1:5432", p3: "t|0/400|10.0.0.2:5432"},
			calls: "promote 10.0.0.2|attach 1", logHas: "asked with a 1s timeout"},
		{name: "pgpool names the cascade as new main while the synchronous standby hangs: still the standby",
			args:  primaryDiedMainCascade,
			nodes: map[string]string{p2: "hang\nt|0/500|10.0.0.1:5432", p3: "t|0/300|10.0.0.2:5432"},
			calls: "promote 10.0.0.2|attach 1", logHas: "promoted postgres2"},
		{name: "no answer until the deadline (timeout): nothing is promoted",
			args:  primaryDied,
			nodes: map[string]string{p2: "hang", p3: "t|0/400|10.0.0.2:5432"},
			calls: "", logHas: "NOT PROMOTING: no answer from postgres2"},
		{name: "refused: nothing is promoted",
			args:  primaryDied,
			nodes: map[string]string{p2: "refused", p3: "t|0/400|10.0.0.2:5432"},
			calls: "", logHas: "NOT PROMOTING"},
		{name: "authentication error: nothing is promoted",
			args:  primaryDied,
			nodes: map[string]string{p2: "auth", p3: "t|0/400|10.0.0.2:5432"},
			calls: "", logHas: "NOT PROMOTING"},
		{name: "an empty answer is no answer (it was once read as 'already primary')",
			args:  primaryDied,
			nodes: map[string]string{p2: "empty", p3: "t|0/400|10.0.0.2:5432"},
			calls: "", logHas: "NOT PROMOTING"},
		{name: "garbage is no answer",
			args:  primaryDied,
			nodes: map[string]string{p2: "ERROR: x", p3: "t|0/400|10.0.0.2:5432"},
			calls: "", logHas: "NOT PROMOTING"},
		{name: "a node that answers 'not in recovery' is kept as the primary",
			args:  primaryDied,
			nodes: map[string]string{p2: "f|0/600|", p3: "t|0/400|10.0.0.2:5432"},
			calls: "attach 1", logHas: "postgres2 (10.0.0.2:5432) already is primary"},
		{name: "the promoted node answers slowly afterwards (a loaded VM): each check asks longer, the promotion is confirmed",
			args:  primaryDied,
			nodes: map[string]string{p2: "t|0/500|10.0.0.1:5432", p3: "t|0/400|10.0.0.2:5432"},
			extra: []string{p2 + ".slow"},
			calls: "promote 10.0.0.2|attach 1", logHas: "promoted postgres2"},
		{name: "the promote request takes longer than the timeout to reach a loaded node: asked again, longer, until it arrives",
			args:  primaryDied,
			nodes: map[string]string{p2: "t|0/500|10.0.0.1:5432", p3: "t|0/400|10.0.0.2:5432"},
			extra: []string{p2 + ".slowpromote"},
			calls: "promote 10.0.0.2|attach 1", logHas: "promoted postgres2"},
		{name: "the promoted node goes away mid-way: the promotion is reported failed",
			args:  primaryDied,
			nodes: map[string]string{p2: "t|0/500|10.0.0.1:5432", p3: "t|0/400|10.0.0.2:5432"},
			extra: []string{p2 + ".nopromote"},
			calls: "promote 10.0.0.2", logHas: "PROMOTION FAILED"},
		{name: "two direct standbys: the most advanced is promoted, the other follows it",
			args:  primaryDied,
			nodes: map[string]string{p2: "t|0/500|10.0.0.1:5432", p3: "t|1/0|10.0.0.1:5432"},
			calls: "promote 10.0.0.3|alter 10.0.0.2 10.0.0.3:5432|attach 2", logHas: "promoted postgres3"},
		{name: "only a cascade answers for the dead primary's data: never promoted",
			args:  primaryDied,
			nodes: map[string]string{p2: "t|0/500|10.0.0.9:5432", p3: "t|0/400|10.0.0.2:5432"},
			calls: "", logHas: "no standby streamed from the failed primary directly"},
		{name: "the failed primary still answers as primary (slow, not dead): nothing promoted, it is attached again",
			args:  primaryDied,
			nodes: map[string]string{p1: "f|0/900|", p2: "t|0/500|10.0.0.1:5432", p3: "t|0/400|10.0.0.2:5432"},
			calls: "attach 0", logHas: "still answers as primary from here"},
		{name: "the new primary's commits keep waiting for a synchronous standby (the cascade stalled): it commits without one, DEGRADED",
			args:     primaryDied,
			nodes:    map[string]string{p2: "t|0/500|10.0.0.1:5432", p3: "t|0/400|10.0.0.2:5432"},
			files:    map[string]string{p2 + ".syncrep": "4\n"},
			syncWait: "4",
			calls:    "promote 10.0.0.2|attach 1|alter 10.0.0.2 sync off", logHas: "DEGRADED"},
		{name: "pgpool already has the new primary attached: its commits are watched all the same",
			args:     primaryDied,
			nodes:    map[string]string{p2: "t|0/500|10.0.0.1:5432", p3: "t|0/400|10.0.0.2:5432"},
			files:    map[string]string{p2 + ".syncrep": "2\n", "attached.1": ""},
			syncWait: "5",
			calls:    "promote 10.0.0.2|alter 10.0.0.2 sync off", logHas: "DEGRADED"},
		{name: "the new primary's commits flow: synchronous replication is kept",
			args:     primaryDied,
			nodes:    map[string]string{p2: "t|0/500|10.0.0.1:5432", p3: "t|0/400|10.0.0.2:5432"},
			syncWait: "10",
			calls:    "promote 10.0.0.2|attach 1", logHas: "promoted postgres2"},
		{name: "the failed primary was only slow: it answers as primary while another node never does; attached again, nothing promoted",
			args:  primaryDied,
			nodes: map[string]string{p1: "hang\nf|0/900|", p2: "refused", p3: "t|0/400|10.0.0.2:5432"},
			calls: "attach 0", logHas: "answers as primary again"},
		{name: "a standby died: its cascade streams from the primary",
			args:  standbyDied,
			nodes: map[string]string{p1: "f|0/700|", p3: "t|0/400|10.0.0.2:5432"},
			calls: "alter 10.0.0.3 10.0.0.1:5432", logHas: "re-pointed postgres3 to 10.0.0.1:5432"},
		{name: "the primary's failure reported again after a promotion: the new primary is never re-pointed",
			args:  []string{"0", "10.0.0.1", "5432", "/d", "2", "10.0.0.3", "1", "1", "5432", "/d", "10.0.0.2", "5432"},
			nodes: map[string]string{p2: "f|0/900|10.0.0.1:5432", p3: "t|0/400|10.0.0.2:5432"},
			calls: "", logHas: "failed node 0"},
		{name: "a standby died with no primary known: nothing is re-pointed to an empty host",
			args:  standbyDiedNoPrimary,
			nodes: map[string]string{p1: "refused", p3: "t|0/400|10.0.0.2:5432"},
			calls: "", logHas: "no primary known"},
		{name: "a standby died and its cascade does not answer: left alone",
			args:  standbyDied,
			nodes: map[string]string{p1: "f|0/700|", p3: "hang"},
			calls: "", logHas: "postgres3 does not answer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // most cases wait for the deadline
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			fake := filepath.Join(dir, "fake")
			os.MkdirAll(bin, 0o755)
			os.MkdirAll(fake, 0o755)
			os.WriteFile(filepath.Join(bin, "psql"), []byte(fakePsql), 0o755)
			os.WriteFile(filepath.Join(bin, "pcp_node_info"), []byte(fakePcpInfo), 0o755)
			os.WriteFile(filepath.Join(bin, "pcp_attach_node"), []byte(fakePcpAttach), 0o755)
			for _, n := range []string{p1, p2, p3} {
				s, ok := c.nodes[n]
				if !ok {
					s = "refused"
				}
				os.WriteFile(filepath.Join(fake, n), []byte(s+"\n"), 0o644)
			}
			for _, f := range c.extra {
				os.WriteFile(filepath.Join(fake, f), nil, 0o644)
			}
			for f, data := range c.files {
				os.WriteFile(filepath.Join(fake, f), []byte(data), 0o644)
			}
			if c.syncWait == "" {
				c.syncWait = "0"
			}
			log := filepath.Join(dir, "failover.log")
			p := filepath.Join(dir, "failover.sh")
			os.WriteFile(p, []byte(strings.Replace(script, "LOG=/var/log/postgresql/pgpool-failover.log", "LOG='"+log+"'", 1)), 0o755)
			cmd := exec.Command("sh", append([]string{p}, c.args...)...)
			cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "RUNBOOK_PSQL=psql", "FAKE="+fake,
				"RUNBOOK_FAILOVER_ASK_TIMEOUT=1", "RUNBOOK_FAILOVER_DEADLINE=3", "RUNBOOK_FAILOVER_SYNC_WAIT="+c.syncWait)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("exit: %v %s", err, out)
			}
			// the attach runs after the script returns (pgpool takes pcp
			// requests only then): wait for it to finish
			for i := 0; i < 100 && (strings.Contains(c.calls, "attach") || strings.Contains(c.calls, "sync off")); i++ {
				if b, _ := os.ReadFile(log); strings.Contains(string(b), "attach job for") {
					break
				}
				exec.Command("sleep", "0.2").Run()
			}
			b, _ := os.ReadFile(filepath.Join(fake, "calls"))
			calls := strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", "|")
			lg, _ := os.ReadFile(log)
			if calls != c.calls {
				t.Errorf("calls %q, want %q\nlog:\n%s", calls, c.calls, lg)
			}
			if !strings.Contains(string(lg), c.logHas) {
				t.Errorf("log lacks %q:\n%s", c.logHas, lg)
			}
		})
	}
}

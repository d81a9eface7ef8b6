package testlab_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/internal/testrig/testlab"
)

// drillRE reads pg_probe's report line: "MODE: N acknowledged rows missing
// (kept K, fresh F of A and B acknowledged), U present but never
// acknowledged; detection ..., writes back ..., longest gap ...".
var drillRE = regexp.MustCompile(`([\w-]+): (\d+) acknowledged rows missing \(kept \d+, fresh \d+ of (\d+) and (\d+) acknowledged\), (\d+) present but never acknowledged; detection (\S+), writes back (\S+) after the break, longest gap between commits (\S+)s`)

// timeline finds the SVG of a drill's report directory.
func timeline(dir, probe string) ([]byte, error) {
	found, _ := filepath.Glob(filepath.Join(dir, probe+"-*", "timeline.svg"))
	if len(found) == 0 {
		return nil, os.ErrNotExist
	}
	return os.ReadFile(found[len(found)-1])
}

// The embedded failover drill in each mode, each followed by the recovery
// playbook and verify: no acknowledged row may be lost, and the cluster
// must verify afterwards. Timings are reported, not asserted.
func TestFailoverDrills(t *testing.T) {
	lab := testlab.Hosts(t, 4)
	if code, out := runbook(t, lab, "play", "site.yaml"); code != 0 {
		t.Fatalf("site.yaml: exit %d\n%s", code, out)
	}
	play := func(args ...string) (int, string) { return runbook(t, lab, args...) }
	runDrills(t, play, allDrills)
}

// A drill mode, the playbook that brings the cluster back after it, and
// the load every lab host runs meanwhile (stress.yaml: "", cpu or io).
type drill struct{ mode, recover, stress string }

// The drills on busy hosts (issue: HA under stress): a loaded primary must
// not be failed over falsely, and a failover under load must lose nothing.
func TestFailoverDrillsUnderStress(t *testing.T) {
	lab := testlab.Hosts(t, 4)
	if code, out := runbook(t, lab, "play", "site.yaml"); code != 0 {
		t.Fatalf("site.yaml: exit %d\n%s", code, out)
	}
	play := func(args ...string) (int, string) { return runbook(t, lab, args...) }
	runDrills(t, play, stressDrills)
}

var stressDrills = []drill{
	{"kill", "failback-drill.yaml", "cpu"},
	{"freeze", "recover-primary.yaml", "io"},
	{"partition-primary", "recover-primary.yaml", "cpu"},
	{"slow-disk", "", "cpu"},
}

// allDrills: the five drills of the notes, then the partitions.
var allDrills = []drill{
	{"kill", "failback-drill.yaml", ""}, // recover-primary.yaml under the write probe
	{"diskfull", "recover-primary.yaml", ""},
	{"standby", "recover-replica.yaml", ""},
	{"freeze", "recover-primary.yaml", ""},
	// partitions: the cut-off primary is fenced by the cluster (its
	// self-fence), the network healed, then it is brought back as a standby
	{"partition-pgpool", "recover-primary.yaml", ""},
	{"partition-primary", "recover-primary.yaml", ""},
	{"flap", "recover-primary.yaml", ""},
	{"slow-disk", "", ""}, // nothing fails over: verify only
}

// runDrills runs each drill through play (any tier), its recovery and
// verify: no acknowledged row may be lost, and the cluster must verify
// afterwards. Timings are logged, not asserted.
func runDrills(t *testing.T, play func(args ...string) (int, string), drills []drill) {
	t.Helper()
	dir := t.TempDir()
	// RUNBOOK_VM_DRILLS (comma-separated modes) runs some of a phase's
	// drills: each costs 10-30 minutes on the VM tier
	only := os.Getenv("RUNBOOK_VM_DRILLS")
	for _, d := range drills {
		if only != "" && !slices.Contains(strings.Split(only, ","), d.mode) {
			t.Logf("drill %s: skipped (RUNBOOK_VM_DRILLS=%s)", d.mode, only)
			continue
		}
		load := []string{}
		if d.stress != "" {
			load = []string{"-e", "stress=" + d.stress}
		}
		code, out := play(append([]string{"play", "failover-drill.yaml", "-e", "mode=" + d.mode, "-e", "report_dir=" + dir}, load...)...)
		m := drillRE.FindStringSubmatch(out)
		if code != 0 || m == nil {
			// the failed task and what the cluster did first (a long log is
			// cut in its middle), the drill's whole output last
			t.Fatalf("drill %s: exit %d\n%s\n%s\n%s", d.mode, code, failedTasks(out), clusterLogs(play), out)
		}
		t.Logf("drill %s (stress %q): %s", d.mode, d.stress, m[0])
		if strings.HasPrefix(d.mode, "partition") || d.mode == "flap" {
			// two primaries may show while the old one is cut off (it cannot
			// commit: its synchronous standby is gone); the cluster fences it
			// when pgpool failed over. A flap may be too short for that.
			o := outcome(t, dir, "failover-"+d.mode)
			failedOver := o.FailedOver
			if failedOver && (!o.FencedByCluster || pgState(play, "postgres1") == "active") {
				t.Errorf("drill %s: the cut-off primary was not fenced", d.mode)
			}
			if !failedOver {
				t.Logf("drill %s: no failover (the link came back before pgpool's health check timed out)", d.mode)
				if code, out := play("play", "verify.yaml"); code != 0 {
					t.Fatalf("verify after the %s drill: exit %d\n%s", d.mode, code, out)
				}
				continue
			}
		}
		if m[2] != "0" {
			t.Errorf("drill %s lost %s acknowledged rows", d.mode, m[2])
		}
		if svg, err := timeline(dir, "failover-"+d.mode); err != nil || !strings.HasPrefix(string(svg), "<svg") {
			t.Errorf("drill %s: no timeline picture: %v", d.mode, err)
		}
		if d.recover == "" {
			if code, out := play("play", "verify.yaml"); code != 0 {
				t.Fatalf("verify after the %s drill: exit %d\n%s", d.mode, code, out)
			}
			continue
		}
		args := []string{"play", d.recover, "-e", "report_dir=" + dir}
		if d.recover == "failback-drill.yaml" {
			args = append(args, load...)
		}
		if d.recover == "recover-primary.yaml" {
			args = append(args, "-l", "postgres1")
		}
		code, out = play(args...)
		if code != 0 {
			t.Fatalf("%s after the %s drill: exit %d\n%s", d.recover, d.mode, code, out)
		}
		if d.recover == "failback-drill.yaml" {
			m := drillRE.FindStringSubmatch(out)
			if m == nil || m[1] != "failback" {
				t.Fatalf("no fail-back figures:\n%s", out)
			}
			t.Logf("drill failback (after %s): %s", d.mode, m[0])
			if m[2] != "0" {
				t.Errorf("the fail-back lost %s acknowledged rows", m[2])
			}
			if _, err := timeline(dir, "failback"); err != nil {
				t.Errorf("fail-back: no timeline picture: %v", err)
			}
		}
		if code, out := play("play", "verify.yaml"); code != 0 {
			t.Fatalf("verify after the %s drill: exit %d\n%s", d.mode, code, out)
		}
	}
	// RUNBOOK_DRILL_SVG_DIR=docs keeps the timelines (as in docs/)
	if keep := os.Getenv("RUNBOOK_DRILL_SVG_DIR"); keep != "" {
		svgs, _ := filepath.Glob(filepath.Join(dir, "*", "timeline.svg"))
		for _, f := range svgs {
			b, _ := os.ReadFile(f)
			os.WriteFile(filepath.Join(keep, filepath.Base(filepath.Dir(f))+".svg"), b, 0o644)
		}
	}
}

// outcome reads what the newest drill of a probe wrote beside its report.
func outcome(t *testing.T, dir, probe string) (o struct {
	Mode            string `json:"mode"`
	FailedOver      bool   `json:"failed_over"`
	FencedByCluster bool   `json:"fenced_by_cluster"`
}) {
	t.Helper()
	found, _ := filepath.Glob(filepath.Join(dir, probe+"-*", "outcome.json"))
	if len(found) == 0 {
		t.Fatalf("no outcome.json of %s in %s", probe, dir)
	}
	readJSON(t, found[len(found)-1], &o)
	return o
}

// pgState says whether PostgreSQL runs on a node.
func pgState(play func(args ...string) (int, string), host string) string {
	_, out := play("run", host, "-m", "shell", "-a", "pgrep -x postgres >/dev/null && echo RUNNING || echo STOPPED")
	// the stdout line, not the task's header (which shows the command)
	if regexp.MustCompile(`(?m)^\s+RUNNING$`).MatchString(out) {
		return "active"
	}
	return "not active"
}

// failedTasks picks each failed task out of a play's output: its TASK
// header and the lines that follow its "fatal:" line.
func failedTasks(out string) string {
	lines := strings.Split(out, "\n")
	var b strings.Builder
	header := ""
	for i, l := range lines {
		if strings.HasPrefix(l, "TASK [") {
			header = l
		}
		if !strings.HasPrefix(l, "fatal: [") {
			continue
		}
		b.WriteString(header + "\n")
		for j := i; j < len(lines) && j < i+12; j++ {
			b.WriteString(lines[j] + "\n")
		}
	}
	return b.String()
}

// clusterLogs: what the cluster did, for a failed drill: pgpool's view of
// its nodes and its failover log, each node's self-fence log and the
// notable lines of its PostgreSQL log.
func clusterLogs(play func(args ...string) (int, string)) string {
	_, nodes := play("run", "postgres-client", "-m", "shell", "-a",
		"for n in 0 1 2; do pcp_node_info -h localhost -p 9898 -U pgpool -w -n $n; done; tail -40 /var/log/postgresql/pgpool-failover.log 2>&1; true")
	_, db := play("run", "postgres1:postgres2:postgres3", "-m", "shell", "-a",
		"tail -6 /var/log/postgresql/pg-selffence.log; tail -3 /var/log/postgresql/pg-diskguard.log; df -h /var/lib/postgresql | tail -1; grep -h -E 'PANIC|FATAL|LOG: +(shutting|database system|received|server process|redo|selected|archive recovery)' /var/log/postgresql/postgresql-*.log | grep -v 'walreceiver\\|primary server\\|authentication' | tail -12; true")
	return nodes + "\n" + db
}

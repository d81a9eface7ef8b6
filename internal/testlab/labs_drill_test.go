package testlab_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/internal/testlab"
)

var drillRE = regexp.MustCompile(`(\w+): (\d+) writes, (\d+) acknowledged, (\d+) acknowledged rows missing, (\d+) rows present but never acknowledged; detection (\S+)s, writes back (\S+)s after the break, longest gap between commits (\S+)s`)

// The embedded failover drill in each mode, each followed by the recovery
// playbook and verify: no acknowledged row may be lost, and the cluster
// must verify afterwards. Timings are reported, not asserted.
func TestFailoverDrills(t *testing.T) {
	lab := testlab.Hosts(t, 4)
	if code, out := runbook(t, lab, "play", "site.yaml"); code != 0 {
		t.Fatalf("site.yaml: exit %d\n%s", code, out)
	}
	dir := t.TempDir()
	for _, d := range []struct{ mode, recover string }{
		{"kill", "failback-drill.yaml"}, // recover-primary.yaml under the write probe
		{"diskfull", "recover-primary.yaml"},
		{"standby", "recover-replica.yaml"},
		{"freeze", "recover-primary.yaml"},
	} {
		code, out := runbook(t, lab, "play", "failover-drill.yaml", "-e", "mode="+d.mode, "-e", "report_dir="+dir)
		m := drillRE.FindStringSubmatch(out)
		if code != 0 || m == nil {
			t.Fatalf("drill %s: exit %d\n%s", d.mode, code, out)
		}
		t.Logf("drill %s: %s", d.mode, m[0])
		if m[4] != "0" {
			t.Errorf("drill %s lost %s acknowledged rows", d.mode, m[4])
		}
		if svg, err := os.ReadFile(filepath.Join(dir, "failover-drill-"+d.mode+".svg")); err != nil || !strings.HasPrefix(string(svg), "<svg") {
			t.Errorf("drill %s: no timeline picture: %v", d.mode, err)
		}
		args := []string{"play", d.recover, "-e", "report_dir=" + dir}
		if d.recover == "recover-primary.yaml" {
			args = append(args, "-l", "postgres1")
		}
		code, out = runbook(t, lab, args...)
		if code != 0 {
			t.Fatalf("%s after the %s drill: exit %d\n%s", d.recover, d.mode, code, out)
		}
		if d.recover == "failback-drill.yaml" {
			m := drillRE.FindStringSubmatch(out)
			if m == nil || m[1] != "failback" {
				t.Fatalf("no fail-back figures:\n%s", out)
			}
			t.Logf("drill failback (after %s): %s", d.mode, m[0])
			if m[4] != "0" {
				t.Errorf("the fail-back lost %s acknowledged rows", m[4])
			}
			if _, err := os.Stat(filepath.Join(dir, "failback-drill.svg")); err != nil {
				t.Errorf("fail-back: no timeline picture: %v", err)
			}
		}
		if code, out := runbook(t, lab, "play", "verify.yaml"); code != 0 {
			t.Fatalf("verify after the %s drill: exit %d\n%s", d.mode, code, out)
		}
	}
	// RUNBOOK_DRILL_SVG_DIR=docs keeps the timelines (as in docs/)
	if keep := os.Getenv("RUNBOOK_DRILL_SVG_DIR"); keep != "" {
		svgs, _ := filepath.Glob(filepath.Join(dir, "*.svg"))
		for _, f := range svgs {
			b, _ := os.ReadFile(f)
			os.WriteFile(filepath.Join(keep, filepath.Base(f)), b, 0o644)
		}
	}
}

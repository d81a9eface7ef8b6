package testlab_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/internal/history"
	"github.com/runbook-lab/runbook/internal/testrig/testlab"
)

// Verdicts a DBA would sign (issue: drill verdicts): a kill drill repeated
// three times leaves a history and a checker's verdict for each run and
// the distribution of the time to writes back; `runbook drills check`
// judges a drill again against its table as it is now, and names a row
// deleted since; the corner cases (cancel-sync, stale-promotion,
// crash-restart, restart-order) say what they saw.
func TestDrillVerdicts(t *testing.T) {
	lab := testlab.Hosts(t, 4)
	if code, out := runbook(t, lab, "play", "site.yaml"); code != 0 {
		t.Fatalf("site.yaml: exit %d\n%s", code, out)
	}
	drillVerdicts(t, func(args ...string) (int, string) { return runbook(t, lab, args...) })
}

// drillVerdicts runs the checks through play, any tier.
func drillVerdicts(t *testing.T, play func(args ...string) (int, string)) {
	dir := t.TempDir()
	code, out := play("play", "failover-drill.yaml", "-e", "mode=kill", "-e", "repeat=3", "-e", "report_dir="+dir)
	if code != 0 {
		t.Fatalf("kill drill, repeat=3: exit %d\n%s", code, out)
	}
	var campaign struct {
		Faults []struct {
			Report string `json:"report"`
		} `json:"faults"`
		RTO struct {
			N   int     `json:"n"`
			P50 float64 `json:"p50"`
			P95 float64 `json:"p95"`
			Max float64 `json:"max"`
		} `json:"rto"`
	}
	readJSON(t, filepath.Join(dir, "repeat-kill", "campaign.json"), &campaign)
	// a kill that pgpool fails over before the drill's own clock reads the
	// break measures 0 s: the distribution may start at 0, not end there
	if len(campaign.Faults) != 3 || campaign.RTO.N != 3 || campaign.RTO.Max < campaign.RTO.P95 || campaign.RTO.P95 < campaign.RTO.P50 || campaign.RTO.Max <= 0 {
		t.Fatalf("campaign.json: %d faults, rto %+v", len(campaign.Faults), campaign.RTO)
	}
	t.Logf("time to writes back over 3 kill drills: p50 %.2f s, p95 %.2f s, max %.2f s", campaign.RTO.P50, campaign.RTO.P95, campaign.RTO.Max)
	var summary struct {
		Verdict struct{ Valid bool } `json:"verdict"`
		RTO     struct{ N int }      `json:"rto"`
	}
	readJSON(t, filepath.Join(dir, "repeat-kill", "report.json"), &summary)
	if !summary.Verdict.Valid || summary.RTO.N != 3 {
		t.Errorf("the repeated drill's report.json: %+v", summary)
	}
	var last string
	for _, f := range campaign.Faults {
		var rep struct {
			Table   string           `json:"table"`
			Verdict *history.Verdict `json:"verdict"`
		}
		readJSON(t, filepath.Join(f.Report, "report.json"), &rep)
		if rep.Verdict == nil || !rep.Verdict.Valid || len(rep.Verdict.Lost) != 0 || !rep.Verdict.Linearizable || rep.Table == "" {
			t.Errorf("%s: table %q, verdict %+v", f.Report, rep.Table, rep.Verdict)
		}
		ops, err := history.Read(filepath.Join(f.Report, "history.json"))
		if err != nil || len(ops) < 100 {
			t.Fatalf("%s: history: %d ops, %v", f.Report, len(ops), err)
		}
		v, err := history.Check(ops)
		if err != nil || !v.Valid || v.Acknowledged < 50 || v.Reads < 10 {
			t.Errorf("%s: the history judged again here: %+v %v", f.Report, v, err)
		}
		t.Logf("%s: %d acknowledged, %d reads, indeterminate %+v, stale reads %d of %d", filepath.Base(f.Report),
			v.Acknowledged, v.Reads, v.Indeterminate, v.StaleReads.Stale, v.StaleReads.Reads)
		last = f.Report
	}

	if code, out := play("drills", "check", last); code != 0 || !strings.Contains(out, "verdict valid") {
		t.Fatalf("drills check on an untouched drill: exit %d\n%s", code, out)
	}
	// delete one acknowledged row on the primary: the check names it
	var rep struct {
		Table string `json:"table"`
	}
	readJSON(t, filepath.Join(last, "report.json"), &rep)
	ops, _ := history.Read(filepath.Join(last, "history.json"))
	var acked []int
	for _, o := range ops {
		if o.Type == "ok" && o.F == "write" {
			acked = append(acked, int(o.Value.(float64)))
		}
	}
	sort.Ints(acked)
	victim := acked[len(acked)/2]
	if code, out := play("run", "postgres1", "-m", "shell", "-a",
		fmt.Sprintf(`cd /tmp && runuser -u postgres -- psql -XAtq -c "DELETE FROM %s WHERE id = %d"`, rep.Table, victim)); code != 0 {
		t.Fatalf("deleting row %d: exit %d\n%s", victim, code, out)
	}
	code, out = play("drills", "check", last)
	if code != 1 || !strings.Contains(out, fmt.Sprintf("lost [%d]", victim)) {
		t.Errorf("drills check after deleting row %d: exit %d, want 1 naming it\n%s", victim, code, out)
	}

	// the corner case: a cancelled commit that waited for the synchronous standby
	code, out = play("play", "failover-drill.yaml", "-e", "mode=cancel-sync", "-e", "report_dir="+dir)
	if code != 0 || !strings.Contains(out, "cancel-sync: the cancelled commit") {
		t.Fatalf("cancel-sync drill: exit %d\n%s", code, out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "cancel-sync: the cancelled commit") {
			t.Log(strings.TrimSpace(l))
		}
	}
	if code, out := play("play", "recover-primary.yaml", "-l", "postgres1"); code != 0 {
		t.Fatalf("recover-primary after cancel-sync: exit %d\n%s", code, out)
	}
	if code, out := play("play", "verify.yaml"); code != 0 {
		t.Fatalf("verify after cancel-sync: exit %d\n%s", code, out)
	}

	// a tempting outage: the synchronous standby hangs 10 s as the
	// primary dies; the lagging cascade must never be promoted, and
	// nothing acknowledged is lost
	cornerDrill(t, play, "stale-promotion", dir)
	if code, out := play("play", "recover-primary.yaml", "-l", "postgres1"); code != 0 {
		t.Fatalf("recover-primary after stale-promotion: exit %d\n%s", code, out)
	}
	crashRestart(t, play, dir)
	// the old primary restarts first after a failover: the cluster stops
	// it, pgpool never routes to it, nothing acknowledged is lost
	out = cornerDrill(t, play, "restart-order", dir)
	if o := outcome(t, dir, "failover-restart-order"); !o.FailedOver || !o.FencedByCluster {
		t.Errorf("restart-order: %+v, want failed over and the old primary fenced by the cluster", o)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "restart-order: postgres1 stopped") {
			t.Log(strings.TrimSpace(l))
		}
	}
	code, out = play("play", "recover-primary.yaml", "-l", "postgres1")
	if code != 0 {
		t.Fatalf("recover-primary after restart-order: exit %d\n%s", code, out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "transactions,") && strings.Contains(l, "bytes of WAL") {
			t.Log("split-brain accounting: " + strings.TrimSpace(l))
		}
	}
	if code, out := play("play", "verify.yaml"); code != 0 {
		t.Fatalf("verify after restart-order: exit %d\n%s", code, out)
	}
}

// crashRestart: the primary restarts itself (a backend crashed) while
// commits wait for the cut-off synchronous standby: its crash recovery
// releases them; nothing acknowledged may be lost whether pgpool fails
// over or not. Recovered and verified afterwards.
func crashRestart(t *testing.T, play func(args ...string) (int, string), dir string) {
	out := cornerDrill(t, play, "crash-restart", dir)
	seen := false
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "crash-restart: marker=") {
			t.Log(strings.TrimSpace(l))
			seen = true
		}
	}
	if !seen {
		t.Errorf("crash-restart: no account of the released commits\n%s", out)
	}
	if code, out := play("play", "recover-primary.yaml", "-l", "postgres1"); code != 0 {
		t.Fatalf("recover-primary after crash-restart: exit %d\n%s", code, out)
	}
	if code, out := play("play", "verify.yaml"); code != 0 {
		t.Fatalf("verify after crash-restart: exit %d\n%s", code, out)
	}
}

// cornerDrill runs one drill mode, which must pass and report its figures,
// and returns its output.
func cornerDrill(t *testing.T, play func(args ...string) (int, string), mode, dir string) string {
	t.Helper()
	code, out := play("play", "failover-drill.yaml", "-e", "mode="+mode, "-e", "report_dir="+dir)
	m := drillRE.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("%s drill: exit %d\n%s\n%s", mode, code, failedTasks(out), out)
	}
	t.Logf("%s: %s", mode, m[0])
	return out
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

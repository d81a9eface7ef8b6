package lab

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The same seed gives the same fault sequence; another seed another one;
// every fault is a drill mode.
func TestChaosPlanIsReproducible(t *testing.T) {
	table, err := Modes()
	if err != nil {
		t.Fatal(err)
	}
	chaosModes := ModeNames(table, false)
	a, b := Plan(42, 50, chaosModes), Plan(42, 50, chaosModes)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("seed 42 gave two sequences:\n%v\n%v", a, b)
	}
	if reflect.DeepEqual(a, Plan(43, 50, chaosModes)) {
		t.Error("seeds 42 and 43 gave the same sequence")
	}
	seen := map[string]bool{}
	for _, m := range a {
		if !slices.Contains(chaosModes, m) {
			t.Errorf("%q is not a drill mode", m)
		}
		seen[m] = true
	}
	if len(seen) < 5 {
		t.Errorf("50 faults drew only %d of %d modes: %v", len(seen), len(chaosModes), a)
	}
}

// The drill's outcome file decides; a missing or foreign one tells nothing.
// The drill table names every mode the drill playbook knows, each with a
// recovery, a judge and a target; cancel-sync is drawn only when named.
func TestDrillModesTable(t *testing.T) {
	table, err := Modes()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"kill", "diskfull", "standby", "freeze", "partition-pgpool", "partition-primary", "flap", "slow-disk", "cancel-sync", "stale-promotion", "crash-restart", "restart-order"}
	if got := ModeNames(table, true); !reflect.DeepEqual(got, want) {
		t.Errorf("modes %v, want %v", got, want)
	}
	for _, corner := range []string{"cancel-sync", "stale-promotion", "crash-restart", "restart-order"} {
		if slices.Contains(ModeNames(table, false), corner) {
			t.Errorf("the corner case %s drawn unasked", corner)
		}
	}
	for _, m := range table {
		if m.Recovery == "" || m.Target == "" || !slices.Contains([]string{"strict", "partition", "corner"}, m.Judge) {
			t.Errorf("%s: %+v", m.Name, m)
		}
	}
}

func TestReadOutcome(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadOutcome(dir); err == nil {
		t.Error("no outcome.json read as one")
	}
	os.WriteFile(filepath.Join(dir, "outcome.json"), []byte(`{"failed_over":true,"fenced_by_cluster":true,"mode":"partition-primary"}`), 0o644)
	if o, err := ReadOutcome(dir); err != nil || !o.FailedOver || !o.FencedByCluster || o.Mode != "partition-primary" {
		t.Errorf("%+v %v", o, err)
	}
	os.WriteFile(filepath.Join(dir, "outcome.json"), []byte(`{"failed_over":"{{ x }}"`), 0o644)
	if _, err := ReadOutcome(dir); err == nil {
		t.Error("a malformed outcome.json read as one")
	}
}

func TestDistributions(t *testing.T) {
	var faults []Fault
	for _, back := range []float64{3, 1, 2, -1, 10} { // -1: no write failed
		faults = append(faults, Fault{Back: back, Detection: back / 2, Gap: back + 1})
	}
	d := Distributions(faults)["first_write_back_s"]
	if d.N != 5 || d.P50 != 2 || d.P95 != 10 || d.Max != 10 {
		t.Errorf("%+v", d)
	}
	if d := Distributions(nil)["longest_gap_s"]; d.N != 0 || d.Max != 0 {
		t.Errorf("empty: %+v", d)
	}
}

func TestCompareLast(t *testing.T) {
	mk := func(probe string, back float64, valid bool) Report {
		var r Report
		r.Probe = probe
		r.Worst.Back = back
		r.Verdict = &struct {
			Valid bool  `json:"valid"`
			Lost  []int `json:"lost"`
		}{Valid: valid}
		return r
	}
	got := CompareLast([]Report{mk("failover-kill", 2, true), mk("failover-freeze", 12, true), mk("failover-kill", 3, false)})
	if len(got) != 1 || !strings.Contains(got[0], "failover-kill") || !strings.Contains(got[0], "writes back 3.00 s (was 2.00 s)") || !strings.Contains(got[0], "verdict INVALID (was valid)") {
		t.Errorf("%q", got)
	}
}

// A failed verify says why in the campaign's own output.
func TestFailedLinesNameTheTaskAndItsMessage(t *testing.T) {
	out := "PLAY [x] ***\n\nTASK [The cluster takes writes] ****\nok: [a]\nfatal: [postgres-client]: FAILED! => no writable primary\n\nTASK [other] ***\nfailed: [b] (item=1) => boom\n"
	got := failedLines(out, 8)
	want := "  TASK [The cluster takes writes]\n    fatal: [postgres-client]: FAILED! => no writable primary\n  TASK [other]\n    failed: [b] (item=1) => boom\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if failedLines(out, 1) != "  TASK [The cluster takes writes]\n    fatal: [postgres-client]: FAILED! => no writable primary\n" {
		t.Error("the limit is not kept")
	}
}

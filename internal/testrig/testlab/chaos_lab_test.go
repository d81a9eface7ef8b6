package testlab_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/internal/testrig/testlab"
)

// A short chaos campaign (one fault drawn from a fixed seed) runs a drill,
// its recovery and verify, writes campaign.json and passes; the same seed
// announces the same sequence.
func TestChaosCampaignShort(t *testing.T) {
	lab := testlab.Hosts(t, 4)
	if code, out := runbook(t, lab, "play", "site.yaml"); code != 0 {
		t.Fatalf("site.yaml: exit %d\n%s", code, out)
	}
	dir := t.TempDir()
	var firsts []string
	for round := 0; round < 2; round++ {
		code, out := runbook(t, lab, "play", "chaos.yaml", "-e", "duration=1s", "-e", "seed=3", "-e", "modes=kill,partition-pgpool", "-e", "report_dir="+dir)
		if code != 0 {
			t.Fatalf("chaos campaign: exit %d\n%s", code, out)
		}
		t.Logf("%s", out)
		first, _, _ := strings.Cut(out, "\n")
		firsts = append(firsts, first)
		if !strings.Contains(out, "0 broke an invariant") {
			t.Errorf("campaign output:\n%s", out)
		}
	}
	if firsts[0] != firsts[1] {
		t.Errorf("the same seed announced two sequences:\n%s\n%s", firsts[0], firsts[1])
	}
	if _, err := os.Stat(filepath.Join(dir, "chaos-3", "campaign.json")); err != nil {
		t.Errorf("no campaign.json: %v", err)
	}
}

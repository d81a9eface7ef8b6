package testlab_test

import (
	"strings"
	"testing"
	"time"

	"github.com/runbook-lab/runbook/internal/testrig/testlab"
)

// The lab playbooks from bare hosts: PostgreSQL primary, sync standby,
// cascading standby, pgpool-II, verify; a second run changes nothing, and
// --check on the built cluster reports nothing to change.
func TestLabPlaybooksFromBareHosts(t *testing.T) {
	lab := testlab.Hosts(t, 4)
	begin := time.Now()
	code, out := runbook(t, lab, "play", "site.yaml")
	first := time.Since(begin)
	if code != 0 {
		t.Fatalf("site.yaml: exit %d\n%s", code, out)
	}
	t.Logf("bare hosts to a verified cluster with pgpool: %s", first.Round(time.Millisecond))
	begin = time.Now()
	code, out = runbook(t, lab, "play", "site.yaml")
	t.Logf("idempotent re-run: %s", time.Since(begin).Round(time.Millisecond))
	if code != 0 {
		t.Fatalf("second run: exit %d\n%s", code, out)
	}
	for h, c := range recap(out) {
		if !strings.HasPrefix(c, "changed=0 ") {
			t.Errorf("second run on %s: %s\n%s", h, c, out)
		}
	}
	code, out = runbook(t, lab, "play", "site.yaml", "--check")
	if code != 0 {
		t.Fatalf("--check: exit %d\n%s", code, out)
	}
	for h, c := range recap(out) {
		if !strings.HasPrefix(c, "changed=0 ") {
			t.Errorf("--check on the built cluster on %s: %s\n%s", h, c, out)
		}
	}
}

package testlab_test

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/internal/cli"
	"github.com/runbook-lab/runbook/internal/testrig/testlab"
)

// bare runs runbook as a user types it: no -i, no --netns, no known_hosts.
func bare(args ...string) (int, string) {
	var out bytes.Buffer
	code := cli.Main(args, strings.NewReader(""), &out, &out)
	return code, out.String()
}

// After site.yaml the lab remembers itself: the user's next commands work
// without -i and say which lab they use; a misspelt drill mode is refused
// before the probe starts; without a lab, verify fails instead of passing.
func TestLabRemembersItself(t *testing.T) {
	lab := testlab.Hosts(t, 4)
	if code, out := runbook(t, lab, "play", "site.yaml"); code != 0 {
		t.Fatalf("site.yaml: exit %d\n%s", code, out)
	}
	record := os.Getenv("RUNBOOK_LAB_FILE")
	if b, err := os.ReadFile(record); err != nil || !strings.Contains(string(b), "postgres-client") {
		t.Fatalf("no lab record at %s: %v\n%s", record, err, b)
	}
	if st, _ := os.Stat(record); st.Mode().Perm() != 0o600 {
		t.Errorf("the record is %o, want 600 (it may hold passwords)", st.Mode().Perm())
	}
	for _, args := range [][]string{
		{"verify"},
		{"play", "recover-primary.yaml", "--check", "-l", "postgres1"},
		{"run", "postgres2", "-m", "command", "-a", "true"},
	} {
		code, out := bare(args...)
		if code != 0 || !strings.Contains(out, "using the lab recorded in") {
			t.Errorf("runbook %s: exit %d\n%s", strings.Join(args, " "), code, out)
		}
	}
	// status: the topology in one screen, and a stopped node shows as down
	if code, out := bare("status"); code != 0 || !strings.Contains(out, "postgres3  standby  timeline") ||
		!strings.Contains(out, "streams from postgres2") || !strings.Contains(out, "pgpool and PostgreSQL agree") {
		t.Errorf("status: exit %d\n%s", code, out)
	}
	// the same as a picture: well-formed SVG naming every node and role
	svg := filepath.Join(t.TempDir(), "lab.svg")
	if code, out := bare("status", "--svg", svg); code != 0 {
		t.Errorf("status --svg: exit %d\n%s", code, out)
	}
	if b, err := os.ReadFile(svg); err != nil || xml.Unmarshal(b, new(struct{ XMLName xml.Name })) != nil ||
		strings.Count(string(b), "timeline") != 3 || !strings.Contains(string(b), ">postgres1<") || !strings.Contains(string(b), "sync") {
		t.Errorf("status --svg wrote: %v\n%s", err, b)
	}
	if code, out := bare("run", "postgres3", "-m", "shell", "-a", "systemctl stop postgresql"); code != 0 {
		t.Fatalf("stopping postgres3: %s", out)
	}
	if code, out := bare("status"); code != 0 || !strings.Contains(out, "postgres3  DOWN") {
		t.Errorf("status with postgres3 stopped: exit %d\n%s", code, out)
	}
	if code, out := bare("run", "postgres3", "-m", "shell", "-a", "systemctl start postgresql"); code != 0 {
		t.Fatalf("starting postgres3: %s", out)
	}
	// pgpool detached postgres3 and keeps it so (no auto_failback): status
	// says so and names the playbook that attaches it again
	code, out := bare("status")
	if code != 0 || !strings.Contains(out, "pgpool has postgres3 detached though it runs as standby (runbook play recover-replica.yaml attaches it)") {
		t.Errorf("status with postgres3 running but detached: exit %d\n%s", code, out)
	}
	if code, out := bare("verify"); code == 0 || !strings.Contains(out, "recover-replica.yaml") {
		t.Errorf("verify with postgres3 detached: exit %d\n%s", code, out)
	}
	if code, out := bare("play", "recover-replica.yaml"); code != 0 {
		t.Fatalf("recover-replica.yaml after the stop: exit %d\n%s", code, out)
	}
	if code, out := bare("verify"); code != 0 {
		t.Fatalf("verify after recover-replica.yaml: exit %d\n%s", code, out)
	}
	// the design card's ad-hoc command, then what verify would advise
	if code, out := bare("run", "postgres2", "-m", "systemd", "-a", "name=postgresql state=restarted"); code != 0 || !strings.Contains(out, "changed") {
		t.Fatalf("restarting postgres2 as the design card does: exit %d\n%s", code, out)
	}
	if code, out := bare("play", "recover-replica.yaml"); code != 0 {
		t.Fatalf("recover-replica.yaml after the restart: exit %d\n%s", code, out)
	}
	if code, out := bare("verify"); code != 0 {
		t.Fatalf("verify after restarting postgres2: exit %d\n%s", code, out)
	}
	code, out = bare("play", "failover-drill.yaml", "-e", "mode=kil")
	if code == 0 || !regexp.MustCompile(`the drill knows [a-z, -]*\bkill\b`).MatchString(out) || strings.Contains(out, "Start writing numbered rows") {
		t.Errorf("a misspelt mode: exit %d\n%s", code, out)
	}
	t.Setenv("RUNBOOK_LAB_FILE", record+".none")
	if code, out := bare("verify"); code == 0 {
		t.Errorf("verify without a lab passed:\n%s", out)
	}
}

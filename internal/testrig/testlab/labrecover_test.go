package testlab_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runbook-lab/runbook/internal/testrig/testlab"
)

var reportRE = regexp.MustCompile(`(\d+) writes, (\d+) acknowledged, (\d+) acknowledged rows missing, .*`)

func stdout(out string) string {
	i := strings.Index(out, "stdout:\n")
	if i < 0 {
		return ""
	}
	rest := out[i+8:]
	for _, end := range []string{"\n  stderr:", "\nPLAY RECAP"} {
		if j := strings.Index(rest, end); j >= 0 {
			rest = rest[:j]
		}
	}
	var lines []string
	for _, l := range strings.Split(rest, "\n") {
		lines = append(lines, strings.TrimPrefix(l, "    "))
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// Kill the primary under the drill's write probe: pgpool fails over by
// itself. Then recover-primary.yaml brings postgres1 back (rewind, attach,
// and a controlled switchover) while the probe still writes. Not one
// acknowledged row may be missing, and the cluster must verify afterwards.
func TestFailoverAndFailbackLoseNoAcknowledgedWrite(t *testing.T) {
	lab := testlab.Hosts(t, 4)
	if code, out := runbook(t, lab, "play", "site.yaml"); code != 0 {
		t.Fatalf("site.yaml: exit %d\n%s", code, out)
	}
	writer := func(args string) string {
		t.Helper()
		code, out := runbook(t, lab, "run", "postgres-client", "-m", "pg_writer", "-a", args)
		if code != 0 {
			t.Fatalf("pg_writer %s: exit %d\n%s", args, code, out)
		}
		return out
	}
	acksAfter := func(since float64) bool {
		_, out := runbook(t, lab, "run", "postgres-client", "-m", "shell", "-a",
			"awk -v b="+strconv.FormatFloat(since, 'f', 3, 64)+" '$1 == \"ack\" && $3 > b' /var/lib/runbook/writer.log | wc -l")
		n, _ := strconv.Atoi(stdout(out))
		return n >= 5
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out: %s", what)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	writer("action=start")
	waitFor("the probe writing", func() bool { return acksAfter(0) })
	killedAt := float64(time.Now().UnixNano()) / 1e9
	if code, out := runbook(t, lab, "run", "postgres1", "-m", "shell", "-a", `kill -KILL $(head -1 /var/lib/postgresql/*/main/postmaster.pid)`); code != 0 {
		t.Fatalf("kill: %s", out)
	}
	waitFor("writes back after the primary was killed", func() bool { return acksAfter(killedAt + 0.5) })
	code, out := runbook(t, lab, "play", "recover-primary.yaml", "-l", "postgres1")
	if code != 0 {
		t.Fatalf("recover-primary: exit %d\n%s", code, out)
	}
	recoveredAt := float64(time.Now().UnixNano()) / 1e9
	waitFor("writes after the recovery", func() bool { return acksAfter(recoveredAt) })
	writer("action=stop")
	out = writer("action=report keep=true break_at=" + strconv.FormatFloat(killedAt, 'f', 3, 64))
	m := reportRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no report:\n%s", out)
	}
	t.Logf("kill + failback: %s", m[0])
	if m[3] != "0" {
		t.Errorf("acknowledged rows lost in failover + failback: %s", m[3])
	}
	if acked, _ := strconv.Atoi(m[2]); acked < 50 {
		t.Errorf("too few acknowledged writes to judge (%d)", acked)
	}
	if code, out := runbook(t, lab, "play", "verify.yaml"); code != 0 {
		t.Errorf("verify after recovery: exit %d\n%s", code, out)
	}
	_, before := runbook(t, lab, "run", "postgres1", "-m", "shell", "-a", `cd /tmp && runuser -u postgres -- psql -X -qAt -c "SELECT count(*) FROM runbook_drill"`)
	// recover-primary against the live primary is a no-op, data intact
	code, out = runbook(t, lab, "play", "recover-primary.yaml", "-l", "postgres1")
	if code != 0 || !strings.Contains(out, "nothing to recover") {
		t.Errorf("recover-primary on the live primary: exit %d\n%s", code, out)
	}
	_, after := runbook(t, lab, "run", "postgres1", "-m", "shell", "-a", `cd /tmp && runuser -u postgres -- psql -X -qAt -c "SELECT count(*) FROM runbook_drill"`)
	if stdout(after) == "" || stdout(after) != stdout(before) {
		t.Errorf("rows on postgres1 before/after the no-op run: %q / %q", stdout(before), stdout(after))
	}
	runbook(t, lab, "run", "postgres1", "-m", "postgresql_query", "-a", "query='DROP TABLE runbook_drill'")
}

package testlab_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runbook-lab/runbook/internal/testrig/testlab"
)

// No false failover under load (issue: HA that holds under stress): every
// lab host busy (cpu, then io) while the independent writer commits
// through pgpool, and nothing breaks: pgpool's failover script never runs,
// postgres1 stays the only primary, not one acknowledged row is lost.
func TestNoFalseFailoverUnderLoad(t *testing.T) {
	lab := testlab.Hosts(t, 4)
	if code, out := runbook(t, lab, "play", "site.yaml"); code != 0 {
		t.Fatalf("site.yaml: exit %d\n%s", code, out)
	}
	soakPhase(t, func(args ...string) (int, string) { return runbook(t, lab, args...) }, 90*time.Second)
}

// soakPhase loads every host for the given time per load, any tier.
func soakPhase(t *testing.T, play func(args ...string) (int, string), each time.Duration) {
	sh := func(host, script string) string {
		t.Helper()
		code, out := play("run", host, "-m", "shell", "-a", script)
		if code != 0 {
			t.Fatalf("%s: %s: exit %d\n%s", host, script, code, out)
		}
		return stdout(out)
	}
	failovers := func() int {
		n, _ := strconv.Atoi(sh("postgres-client", `grep -c ' failover: failed node ' /var/log/postgresql/pgpool-failover.log 2>/dev/null || true`))
		return n
	}
	for _, load := range []string{"cpu", "io"} {
		before := failovers()
		if code, out := play("run", "postgres-client", "-m", "pg_writer", "-a", "action=start"); code != 0 {
			t.Fatalf("pg_writer start: exit %d\n%s", code, out)
		}
		if code, out := play("play", "stress.yaml", "-e", "stress="+load, "-e", "stress_action=start"); code != 0 {
			t.Fatalf("stress %s: exit %d\n%s", load, code, out)
		}
		time.Sleep(each)
		if code, out := play("play", "stress.yaml", "-e", "stress="+load, "-e", "stress_action=stop"); code != 0 {
			t.Fatalf("stress %s stop: exit %d\n%s", load, code, out)
		}
		play("run", "postgres-client", "-m", "pg_writer", "-a", "action=stop")
		code, out := play("run", "postgres-client", "-m", "pg_writer", "-a", "action=report")
		m := reportRE.FindStringSubmatch(out)
		if code != 0 || m == nil {
			t.Fatalf("pg_writer report after %s load: exit %d\n%s", load, code, out)
		}
		after := failovers()
		primary := sh("postgres1", `cd /tmp && runuser -u postgres -- psql -XAtqc 'SELECT pg_is_in_recovery()'`)
		writes, _ := strconv.Atoi(m[1])
		acked, _ := strconv.Atoi(m[2])
		t.Logf("soak, %s load for %s: %d failovers, %d acknowledged of %d writes (%d errors), %s acknowledged rows missing",
			load, each, after-before, acked, writes, writes-acked, m[3])
		if after != before || primary != "f" || m[3] != "0" || acked < 10 {
			_, log := play("run", "postgres-client", "-m", "command", "-a", "tail -20 /var/log/postgresql/pgpool-failover.log")
			t.Errorf("a false failover under %s load: failover.sh ran %d times, postgres1 in recovery %q, missing %s, acked %d\n%s",
				load, after-before, primary, m[3], acked, strings.TrimSpace(log))
		}
	}
	if code, out := play("play", "verify.yaml"); code != 0 {
		t.Fatalf("verify after the soak: exit %d\n%s", code, out)
	}
}

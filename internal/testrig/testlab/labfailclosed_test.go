package testlab_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runbook-lab/runbook/internal/testrig/testlab"
)

// The failover fails closed under the faults that once left the cluster
// with no primary for good (issue: HA that holds under stress), each under
// the independent writer (pg_writer, its own connections through pgpool):
//   - the new main node's postmaster stopped for 8 s as the primary dies:
//     failover.sh once read the unanswered question as "already primary";
//   - a double fault: the cascade's WAL receiver stopped, the synchronous
//     standby hung 10 s, then the primary killed: the cascade must never be
//     promoted;
//   - the primary cut off from its peers with no drill running: its own
//     self-fence makes it not writable within 30 s;
//   - every database node stopped: status and verify say so (exit 1), and
//     recover-primary.yaml restores a verified cluster;
//   - recover-primary.yaml on the healthy primary is a no-op (exit 0).
//
// Each ends with writes back within 60 s, one primary, nothing lost.
func TestFailoverFailsClosed(t *testing.T) {
	lab := testlab.Hosts(t, 4)
	if code, out := runbook(t, lab, "play", "site.yaml"); code != 0 {
		t.Fatalf("site.yaml: exit %d\n%s", code, out)
	}
	failClosedPhases(t, func(args ...string) (int, string) { return runbook(t, lab, args...) })
}

// failClosedPhases are TestFailoverFailsClosed's faults through play, any
// tier (make test-vm runs them on the VMs).
func failClosedPhases(t *testing.T, play func(args ...string) (int, string)) {
	sh := func(host, script string) string {
		t.Helper()
		code, out := play("run", host, "-m", "shell", "-a", script)
		if code != 0 {
			t.Fatalf("%s: %s: exit %d\n%s", host, script, code, out)
		}
		return stdout(out)
	}
	writer := func(args string) string {
		t.Helper()
		code, out := play("run", "postgres-client", "-m", "pg_writer", "-a", args)
		if code != 0 {
			t.Fatalf("pg_writer %s: exit %d\n%s", args, code, out)
		}
		return out
	}
	acksAfter := func(since float64) int {
		n, _ := strconv.Atoi(sh("postgres-client", "awk -v b="+strconv.FormatFloat(since, 'f', 3, 64)+" '$1 == \"ack\" && $3 > b' /var/lib/runbook/writer.log | wc -l"))
		return n
	}
	now := func() float64 { return float64(time.Now().UnixNano()) / 1e9 }
	waitWrites := func(what string, since float64, within time.Duration) float64 {
		t.Helper()
		deadline := time.Now().Add(within)
		for acksAfter(since) < 5 {
			if time.Now().After(deadline) {
				_, log := play("run", "postgres-client", "-m", "command", "-a", "tail -30 /var/log/postgresql/pgpool-failover.log")
				_, st := play("status")
				t.Fatalf("%s: no writes within %v\n%s\n%s", what, within, log, st)
			}
			time.Sleep(500 * time.Millisecond)
		}
		return now() - since
	}
	primaries := func() []string {
		var p []string
		for _, h := range []string{"postgres1", "postgres2", "postgres3"} {
			_, out := play("run", h, "-m", "shell", "-a", `cd /tmp && runuser -u postgres -- psql -X -qAt -c "SELECT pg_is_in_recovery()" 2>/dev/null || true`)
			if stdout(out) == "f" {
				p = append(p, h)
			}
		}
		return p
	}
	// lost compares the writer's acknowledged ids with the table read on
	// the primary itself, not through pgpool (a load-balanced read may land
	// on a standby that lags)
	lost := func(primary string) (int, int) {
		acked := sh("postgres-client", `awk '$1 == "ack" {print $2}' /var/lib/runbook/writer.log | sort -n | tr '\n' ' '`)
		have := sh(primary, `cd /tmp && runuser -u postgres -- psql -X -qAt -c "SELECT id FROM runbook_drill" | sort -n | tr '\n' ' '`)
		in := map[string]bool{}
		for _, id := range strings.Fields(have) {
			in[id] = true
		}
		missing := 0
		for _, id := range strings.Fields(acked) {
			if !in[id] {
				missing++
			}
		}
		return missing, len(strings.Fields(acked))
	}
	finish := func(name string, brokeAt float64) {
		t.Helper()
		p := primaries()
		if len(p) != 1 {
			t.Errorf("%s: primaries after the failover: %v, want one", name, p)
		}
		if code, out := play("status"); code != 0 {
			t.Errorf("%s: status after the failover: exit %d\n%s", name, code, out)
		}
		if len(p) == 1 {
			if missing, acked := lost(p[0]); missing != 0 || acked < 20 {
				t.Errorf("%s: %d of %d acknowledged rows missing on the primary %s", name, missing, acked, p[0])
			} else {
				t.Logf("%s: 0 of %d acknowledged rows missing on %s", name, acked, p[0])
			}
		}
		if code, out := play("play", "recover-primary.yaml", "-l", "postgres1"); code != 0 {
			t.Fatalf("%s: recover-primary: exit %d\n%s", name, code, out)
		}
		waitWrites(name+": writes after the recovery", now(), 60*time.Second)
		writer("action=stop")
		out := writer("action=report break_at=" + strconv.FormatFloat(brokeAt, 'f', 3, 64))
		if m := reportRE.FindStringSubmatch(out); m == nil || m[3] != "0" {
			t.Errorf("%s: the writer's report: %s", name, out)
		}
		if code, out := play("play", "verify.yaml"); code != 0 {
			t.Fatalf("%s: verify after recovery: exit %d\n%s", name, code, out)
		}
	}
	pid := `$(head -1 /var/lib/postgresql/*/main/postmaster.pid)`

	// new main hung as the primary dies
	{
		t.Log("phase: new main hung as the primary dies")
		writer("action=start")
		waitWrites("the writer", 0, 60*time.Second)
		sh("postgres2", `p=`+pid+`; nohup sh -c "kill -STOP $p; sleep 8; kill -CONT $p" >/dev/null 2>&1 &`)
		broke := now()
		sh("postgres1", "kill -KILL "+pid)
		t.Logf("writes back %.1f s after the kill", waitWrites("writes back after the kill", broke, 60*time.Second))
		finish("hung new main", broke)
	}

	// double fault: cascade stalled, sync standby hung, primary killed
	{
		t.Log("phase: double fault: cascade stalled, sync standby hung, primary killed")
		writer("action=start")
		waitWrites("the writer", 0, 60*time.Second)
		sh("postgres3", `pkill -STOP -f "postgres: .*[w]alreceiver"`)
		sh("postgres2", `p=`+pid+`; nohup sh -c "kill -STOP $p; pkill -STOP -P $p; sleep 10; pkill -CONT -P $p; kill -CONT $p" >/dev/null 2>&1 &`)
		broke := now()
		sh("postgres1", "kill -KILL "+pid)
		back := waitWrites("writes back after the double fault", broke, 60*time.Second)
		t.Logf("writes back %.1f s after the kill", back)
		if p := primaries(); len(p) != 1 || p[0] != "postgres2" {
			t.Errorf("primaries after the double fault: %v, want [postgres2] (the cascade must never be promoted)", p)
		}
		sh("postgres3", `pkill -CONT -f "postgres: .*[w]alreceiver" || true`)
		finish("double fault", broke)
	}

	// the primary cut off from its peers, no drill running: the cluster
	// fences it itself (its self-fence), not the test
	{
		t.Log("phase: the primary cut off from its peers, no drill running")
		writer("action=start")
		waitWrites("the writer", 0, 60*time.Second)
		var peers []string
		for _, h := range []string{"postgres2", "postgres3", "postgres-client"} {
			_, out := play("run", h, "-m", "debug", "-a", `msg={{ index .hostvars .inventory_hostname "ansible_host" }}`)
			m := regexp.MustCompile(`=> (\S+)`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("the address of %s:\n%s", h, out)
			}
			peers = append(peers, m[1])
		}
		sh("postgres1", "for a in "+strings.Join(peers, " ")+`; do ip route add blackhole "$a/32"; done`)
		cut := now()
		// writable: PostgreSQL runs there and is not in recovery (a commit
		// may wait for a synchronous standby, but the row is there to read)
		writable := func() bool {
			return sh("postgres1", `systemctl is-active --quiet postgresql@$(ls /etc/postgresql)-main && [ "$(cd /tmp && timeout 3 runuser -u postgres -- psql -XAtqc 'SELECT pg_is_in_recovery()')" = f ] && echo yes || echo no`) == "yes"
		}
		for writable() && now()-cut < 30 {
			time.Sleep(time.Second)
		}
		if writable() {
			_, log := play("run", "postgres1", "-m", "command", "-a", "tail -20 /var/log/postgresql/pg-selffence.log")
			t.Errorf("postgres1 is still a writable primary %.0f s after it was cut off\n%s", now()-cut, log)
		} else {
			t.Logf("postgres1 not writable %.1f s after it was cut off from its peers", now()-cut)
		}
		t.Logf("writes back %.1f s after the cut", waitWrites("writes back after the cut", cut, 60*time.Second))
		sh("postgres1", `ip route show type blackhole | while read -r _ a _; do ip route del blackhole "$a"; done; true`)
		finish("primary cut off", cut)
	}

	// every database node stopped
	{
		t.Log("phase: every database node stopped")
		for _, h := range []string{"postgres3", "postgres2", "postgres1"} {
			sh(h, "systemctl stop postgresql@$(ls /etc/postgresql)-main")
		}
		noPrimary := regexp.MustCompile(`no writable primary`)
		for _, cmd := range []string{"status", "verify"} {
			code, out := play(cmd)
			if code != 1 || !noPrimary.MatchString(out) {
				t.Errorf("%s with every node stopped: exit %d, want 1 and 'no writable primary'\n%s", cmd, code, out)
			}
		}
		if code, out := play("play", "recover-primary.yaml", "-l", "postgres1"); code != 0 {
			t.Fatalf("recover-primary with every node stopped: exit %d\n%s", code, out)
		}
		if code, out := play("play", "verify.yaml"); code != 0 {
			t.Fatalf("verify after recovery: exit %d\n%s", code, out)
		}
	}

	// recover-primary on the healthy primary is a no-op
	{
		t.Log("phase: recover-primary on the healthy primary is a no-op")
		code, out := play("play", "recover-primary.yaml", "-l", "postgres1")
		if code != 0 || !strings.Contains(out, "nothing to recover") {
			t.Errorf("recover-primary on the healthy primary: exit %d\n%s", code, out)
		}
		if p := primaries(); len(p) != 1 || p[0] != "postgres1" {
			t.Errorf("primaries after the no-op: %v", p)
		}
	}
}

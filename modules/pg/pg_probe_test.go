package pg_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/runbook-lab/runbook/internal/testrig/pgtest"
	"github.com/runbook-lab/runbook/internal/testrig/sshtest"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/modules/pg"
	"github.com/runbook-lab/runbook/transport"
)

// The probe against a real server, through a real SSH connection's
// forwarded TCP (sshd on loopback): both clients write, a hard kill of the
// server is an outage both see, writes come back after the restart, and the
// report finds no acknowledged row missing and measures the outage.
func TestProbeThroughSSHAcrossAServerKill(t *testing.T) {
	cluster := pgtest.New(t)
	p := cluster.Primary("p")
	p.SQL("ALTER ROLE postgres PASSWORD 'probe-pw'")
	host := sshHost(t)
	ctx := context.Background()
	e := &modules.Env{Host: host, Vars: map[string]any{}, Warn: func(string, ...any) {}}
	base := pg.PgProbe{Name: "t", Host: "127.0.0.1", Port: p.Port, User: "postgres", Password: "probe-pw", DB: "postgres",
		Table: "probe_t", Timeout: 30, Every: 0.005, ReportDir: t.TempDir()}
	run := func(action string, edit func(*pg.PgProbe)) *modules.Result {
		t.Helper()
		m := base
		m.Action = action
		if edit != nil {
			edit(&m)
		}
		r, err := modules.Execute(ctx, &m, e)
		if err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		return r
	}
	defer pg.StopProbes()
	run("start", nil)
	if r := run("wait", func(m *pg.PgProbe) { m.Acks = 20 }); r.Failed {
		t.Fatalf("wait: %s", r.Msg)
	}
	breakAt := float64(time.Now().UnixNano()) / 1e9
	p.Kill()
	time.Sleep(300 * time.Millisecond)
	p.Start()
	if r := run("wait", func(m *pg.PgProbe) { m.Acks = 10; m.After = breakAt + 0.1 }); r.Failed {
		t.Fatalf("writes never came back: %s", r.Msg)
	}
	run("stop", nil)
	r := run("report", func(m *pg.PgProbe) { m.BreakAt = breakAt })
	if r.Failed || r.Data["missing"] != 0 {
		t.Errorf("report: %s", r.Msg)
	}
	if d, _ := r.Data["detection"].(float64); d < 0 {
		t.Errorf("no outage seen: %s", r.Msg)
	}
	var rep pg.ProbeReport
	b, err := os.ReadFile(filepath.Join(r.Data["report_dir"].(string), "report.json"))
	if err != nil || json.Unmarshal(b, &rep) != nil {
		t.Fatalf("report.json: %v", err)
	}
	if rep.Clients["kept"].Acked < 30 || rep.Clients["fresh"].Acked < 30 {
		t.Errorf("clients: %+v", rep.Clients)
	}
	if _, err := os.Stat(filepath.Join(r.Data["report_dir"].(string), "timeline.svg")); err != nil {
		t.Error(err)
	}
	t.Log(r.Msg)
}

// sshHost is a real SSH connection to this machine's sshd on loopback.
func sshHost(t *testing.T) *transport.SSH {
	srv := sshtest.Start(t, 1)
	c, err := transport.DialSSH(context.Background(), transport.SSHConfig{Name: "h", Addr: srv.Addrs[0], Port: srv.Port,
		User: srv.User, KeyFiles: []string{srv.KeyFile}, KnownHosts: srv.KnownHosts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Two writable primaries at once are caught: the probe polls two real
// independent primaries (a split brain by construction) and the report
// fails with the moments; one primary alone gives none.
func TestProbeCatchesTwoWritablePrimaries(t *testing.T) {
	cluster := pgtest.New(t)
	a, b := cluster.Primary("a"), cluster.Primary("b")
	for _, s := range []*pgtest.Server{a, b} {
		s.SQL("ALTER ROLE postgres PASSWORD 'probe-pw'")
	}
	host := sshHost(t)
	ctx := context.Background()
	e := &modules.Env{Host: host, Vars: map[string]any{}, Warn: func(string, ...any) {}}
	defer pg.StopProbes()
	for _, c := range []struct {
		nodes map[string]string
		split bool
	}{
		{map[string]string{"a": "127.0.0.1:" + strconv.Itoa(a.Port)}, false},
		{map[string]string{"a": "127.0.0.1:" + strconv.Itoa(a.Port), "b": "127.0.0.1:" + strconv.Itoa(b.Port)}, true},
	} {
		base := pg.PgProbe{Name: "split", Host: "127.0.0.1", Port: a.Port, User: "postgres", Password: "probe-pw", DB: "postgres",
			Table: "probe_s", Timeout: 30, Every: 0.01, ReportDir: t.TempDir(), Nodes: c.nodes}
		start := base
		start.Action = "start"
		if _, err := modules.Execute(ctx, &start, e); err != nil {
			t.Fatal(err)
		}
		time.Sleep(800 * time.Millisecond)
		rep := base
		rep.Action = "report"
		r, err := modules.Execute(ctx, &rep, e)
		if err != nil {
			t.Fatal(err)
		}
		got := r.Data["two_primaries"].(int)
		if c.split && (got == 0 || !r.Failed) {
			t.Errorf("two primaries not caught: %s", r.Msg)
		}
		if !c.split && (got != 0 || r.Failed) {
			t.Errorf("one primary reported as split: %s", r.Msg)
		}
	}
}

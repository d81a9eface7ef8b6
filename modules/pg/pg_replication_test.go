package pg_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbook-lab/runbook/modules"

	"github.com/runbook-lab/runbook/internal/testrig/pgtest"
	"github.com/runbook-lab/runbook/modules/pg"
)

// The lab's topology on real servers: a primary, a synchronous standby
// cloned from it, a cascading async standby cloned from the standby.
func TestReplicationTopologyOnRealServers(t *testing.T) {
	cluster := pgtest.New(t)
	p1 := cluster.Primary("postgres1")
	ctx := context.Background()
	e := env(t, false)
	yes := true
	const pw = "repl-'pw"
	if _, err := modules.Execute(ctx, (&pg.PostgresqlUser{PgConn: conn(p1), Name: "replicator", Password: pw, Replication: &yes, State: "present"}), e); err != nil {
		t.Fatal(err)
	}
	if _, err := modules.Execute(ctx, (&pg.PgConf{PgConn: conn(p1), Settings: map[string]string{"synchronous_standby_names": "ANY 1 (postgres2)"}}), e); err != nil {
		t.Fatal(err)
	}
	passfile := filepath.Join(cluster.Dir, "pgpass")
	pgtest.WriteFile(t, passfile, "*:*:*:replicator:"+pw+"\n", 0o600)
	p2, p3 := cluster.Server("postgres2"), cluster.Server("postgres3")
	clone := func(s, up *pgtest.Server) *pg.PgBasebackup {
		return &pg.PgBasebackup{PgConn: conn(s), DataDir: s.DataDir, UpstreamHost: "127.0.0.1", UpstreamPort: up.Port,
			User: "replicator", ApplicationName: s.Name, Passfile: passfile, Binary: "pg_basebackup"}
	}
	b2 := clone(p2, p1)
	if r, err := modules.Execute(ctx, b2, env(t, true)); err != nil || !r.Changed {
		t.Fatalf("check: %+v %v", r, err)
	}
	if _, err := os.Stat(p2.DataDir); err == nil {
		t.Fatal("check mode created the data directory")
	}
	r, err := modules.Execute(ctx, b2, e)
	if err != nil || r.Failed || !r.Changed {
		t.Fatalf("clone postgres2: %+v %v", r, err)
	}
	auto, _ := os.ReadFile(filepath.Join(p2.DataDir, "postgresql.auto.conf"))
	if strings.Contains(string(auto), "repl-") || !strings.Contains(string(auto), "passfile=") || !strings.Contains(string(auto), "application_name=postgres2") {
		t.Errorf("primary_conninfo must carry application_name and passfile, never the password:\n%s", auto)
	}
	p2.Start()
	b3 := clone(p3, p2)
	if r, err := modules.Execute(ctx, b3, e); err != nil || r.Failed {
		t.Fatalf("clone postgres3 from postgres2: %+v %v", r, err)
	}
	// the same standby again: nothing to do, unless a re-clone is asked
	// for (a standby that cannot start on its upstream's timeline)
	if r, err := modules.Execute(ctx, b3, e); err != nil || r.Changed {
		t.Errorf("cloning the same standby again: %+v %v", r, err)
	}
	os.WriteFile(filepath.Join(p3.DataDir, "marker"), []byte("old"), 0o600)
	again := *b3
	again.Force, again.Reclone = true, true
	if r, err := modules.Execute(ctx, &again, e); err != nil || !r.Changed {
		t.Errorf("reclone: %+v %v", r, err)
	}
	if _, err := os.Stat(filepath.Join(p3.DataDir, "marker")); err == nil {
		t.Error("reclone kept the old data directory")
	}
	auto3, _ := os.ReadFile(filepath.Join(p3.DataDir, "postgresql.auto.conf"))
	if n := strings.Count(string(auto3), "primary_conninfo"); n != 1 {
		t.Errorf("%d primary_conninfo lines after cloning from a standby:\n%s", n, auto3)
	}
	p3.Start()
	// the primary sees postgres2 as the synchronous standby
	waitFor(t, func() bool {
		return p1.SQL("SELECT sync_state FROM pg_stat_replication WHERE application_name = 'postgres2'") == "quorum"
	}, "postgres2 quorum-sync on postgres1")
	waitFor(t, func() bool {
		return p2.SQL("SELECT state || '/' || sync_state FROM pg_stat_replication WHERE application_name = 'postgres3'") == "streaming/async"
	}, "postgres3 streaming async from postgres2")
	facts, err := modules.Execute(ctx, (&pg.PgReplication{PgConn: conn(p1)}), e)
	if err != nil || facts.Data["role"] != "primary" {
		t.Fatalf("facts: %+v %v", facts, err)
	}
	if s := facts.Data["standby"].(map[string]any)["postgres2"].(map[string]any); s["sync_state"] != "quorum" {
		t.Errorf("facts: %v", s)
	}
	f3, _ := modules.Execute(ctx, (&pg.PgReplication{PgConn: conn(p3)}), e)
	if f3.Data["role"] != "standby" || f3.Data["upstream_port"] != fmt.Sprint(p2.Port) || f3.Data["upstream_application_name"] != "postgres3" {
		t.Errorf("postgres3 facts: %v", f3.Data)
	}
	// where each node is in the WAL, and whom it is configured to stream
	// from (kept while that upstream is dead)
	if f3.Data["configured_upstream_host"] == "" || f3.Data["wal_position"] == "" || f3.Data["wal_position"] == "0" || facts.Data["wal_position"] == "" {
		t.Errorf("positions: primary %v, postgres3 %v (configured upstream %v)", facts.Data["wal_position"], f3.Data["wal_position"], f3.Data["configured_upstream_host"])
	}
	// a write on the primary reaches the cascade
	p1.SQL("CREATE TABLE t AS SELECT 42 AS v")
	waitFor(t, func() bool { return p3.SQL("SELECT count(*) FROM pg_tables WHERE tablename = 't'") == "1" }, "the write on postgres3")
	// idempotent: already the right standby
	if r, err := modules.Execute(ctx, b2, e); err != nil || r.Changed {
		t.Errorf("second clone changed: %+v %v", r, err)
	}
	// force on the running primary is refused, and its data is intact
	wipe := clone(p1, p2)
	wipe.Force = true
	r, err = modules.Execute(ctx, wipe, e)
	if err != nil || !r.Failed || !strings.Contains(r.Msg, "refusing to wipe") || !strings.Contains(r.Msg, "running primary") {
		t.Errorf("wiping the running primary: %+v %v", r, err)
	}
	if got := p1.SQL("SELECT v FROM t"); got != "42" {
		t.Errorf("primary's data after the refused wipe: %q", got)
	}
	// promote postgres2 after the primary dies. Its postgresql.auto.conf
	// came from postgres1 with synchronous_standby_names naming itself:
	// left so, every commit after promotion would wait forever. Name its
	// own standby instead (what the lab's failover does).
	if _, err := modules.Execute(ctx, (&pg.PgConf{PgConn: conn(p2), Settings: map[string]string{"synchronous_standby_names": "ANY 1 (postgres3)"}}), e); err != nil {
		t.Fatal(err)
	}
	// a split brain: postgres2 is promoted while postgres1 still runs and
	// commits three rows locally (synchronous_commit local: its
	// synchronous standby is gone), then dies; the rewind must say what
	// it throws away
	pr := &pg.PgPromote{PgConn: conn(p2), Timeout: 30}
	if r, err := modules.Execute(ctx, pr, e); err != nil || !r.Changed || r.Failed {
		t.Fatalf("promote: %+v %v", r, err)
	}
	for i := 0; i < 3; i++ {
		p1.SQL(fmt.Sprintf("SET synchronous_commit = local; INSERT INTO t VALUES (%d)", 90+i))
	}
	p1.Kill()
	if got := p2.SQL("SELECT pg_is_in_recovery()"); got != "f" {
		t.Errorf("still in recovery")
	}
	if r, _ := modules.Execute(ctx, pr, e); r.Changed {
		t.Error("promoting a primary changed something")
	}
	// the cascade follows the new timeline
	p2.SQL("INSERT INTO t VALUES (43)")
	waitFor(t, func() bool { return p3.SQL("SELECT count(*) FROM t") == "2" }, "postgres3 following postgres2's promotion")
	// the timeline each reports is the new one at once, before any
	// checkpoint (the last checkpoint's timeline lags a promotion)
	for _, n := range []*pgtest.Server{p2, p3} {
		r, err := modules.Execute(ctx, (&pg.PgReplication{PgConn: conn(n)}), e)
		if err != nil || fmt.Sprint(r.Data["timeline"]) != "2" {
			t.Errorf("timeline on port %d after the promotion: %v %v (want 2)", n.Port, r, err)
		}
	}

	// the crashed old primary comes back as a standby of postgres2 by
	// pg_rewind (CHECKPOINT on the new primary first), not a re-clone
	p2.SQL("ALTER ROLE postgres PASSWORD 'pg-pw'")
	p2.SQL("CHECKPOINT")
	pgtest.WriteFile(t, passfile, "*:*:*:replicator:"+pw+"\n*:*:*:postgres:pg-pw\n", 0o600)
	rw := &pg.PgRewind{DataDir: p1.DataDir, SourceHost: "127.0.0.1", SourcePort: p2.Port, SourceUser: "postgres",
		Passfile: passfile, OSUser: "postgres", Binary: filepath.Join(cluster.Bin, "pg_rewind"), RestoreTargetWAL: true,
		PrimaryConninfo: fmt.Sprintf("host=127.0.0.1 port=%d user=replicator application_name=postgres1 passfile=%s", p2.Port, passfile)}
	if r, err := modules.Execute(ctx, rw, env(t, true)); err != nil || !r.Changed {
		t.Fatalf("rewind check: %+v %v", r, err)
	}
	r, err = modules.Execute(ctx, rw, e)
	if err != nil || r.Failed || !r.Changed {
		t.Fatalf("rewind: %+v %v", r, err)
	}
	// the three local commits, and no more than a few others (autovacuum)
	if n, _ := r.Data["discarded_transactions"].(int); n < 3 || n > 10 || r.Data["discarded_wal_bytes"].(uint64) == 0 || r.Data["diverged_timeline"] != 1 {
		t.Errorf("what the rewind discarded: %v (%s)", r.Data, r.Msg)
	}
	t.Log(r.Msg)
	p1.Start()
	waitFor(t, func() bool { return p1.SQL("SELECT count(*) FROM t") == "2" }, "the rewound postgres1 replaying postgres2's writes")
	if got := p1.SQL("SELECT pg_is_in_recovery()"); got != "t" {
		t.Errorf("rewound postgres1 is not a standby")
	}
	waitFor(t, func() bool {
		return p2.SQL("SELECT usename FROM pg_stat_replication WHERE application_name = 'postgres1'") == "replicator"
	}, "the rewound postgres1 streaming as replicator under its own name")
	if r, _ := modules.Execute(ctx, rw, e); !r.Failed || !strings.Contains(r.Msg, "stop it") {
		t.Errorf("pg_rewind of a running server: %+v", r)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A wrong replication password is a clear error that names the failure,
// and the password appears nowhere in it.
func TestWrongPasswordIsAClearErrorWithoutTheSecret(t *testing.T) {
	cluster := pgtest.New(t)
	p1 := cluster.Primary("postgres1")
	ctx := context.Background()
	e := env(t, false)
	yes := true
	if _, err := modules.Execute(ctx, (&pg.PostgresqlUser{PgConn: conn(p1), Name: "replicator", Password: "right-pw", Replication: &yes, State: "present"}), e); err != nil {
		t.Fatal(err)
	}
	const wrong = "wrong-secret-pw"
	passfile := filepath.Join(cluster.Dir, "pgpass")
	pgtest.WriteFile(t, passfile, "*:*:*:replicator:"+wrong+"\n", 0o600)
	s := cluster.Server("postgres2")
	_, err := modules.Execute(ctx, (&pg.PgBasebackup{PgConn: conn(s), DataDir: s.DataDir, UpstreamHost: "127.0.0.1", UpstreamPort: p1.Port,
		User: "replicator", ApplicationName: "postgres2", Passfile: passfile, Binary: "pg_basebackup"}), e)
	if err == nil || !strings.Contains(err.Error(), "password authentication failed") {
		t.Fatalf("want a password error, got %v", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("the password is in the error: %v", err)
	}
}

package pg_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/internal/testrig/pgtest"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/modules/pg"
)

func conn(s *pgtest.Server) pg.PgConn {
	return pg.PgConn{Port: s.Port, Host: s.Socket}
}

func TestPsqlScriptQuotesForPsql(t *testing.T) {
	got, err := pg.PsqlScript("SELECT :'a'", map[string]string{"a": "it's a \\ back\nslash"})
	want := "\\set a 'it''s a \\\\ back\\nslash'\nSELECT :'a';\n"
	if err != nil || got != want {
		t.Errorf("got %q, %v\nwant %q", got, err, want)
	}
	if _, err := pg.PsqlScript("x", map[string]string{"a;drop": "1"}); err == nil {
		t.Error("bad parameter name accepted")
	}
}

func TestPostgresqlQueryOnARealServer(t *testing.T) {
	cluster := pgtest.New(t)
	p := cluster.Primary("p")
	ctx := context.Background()
	e := env(t, false)
	// a value with quotes, backslashes and SQL is passed as data, not SQL
	evil := `x'); DROP TABLE t; --\ "q"`
	q := &pg.PostgresqlQuery{PgConn: conn(p), Query: "SELECT :'v' AS v, :'n'::int + 1 AS n", Params: map[string]string{"v": evil, "n": "41"}}
	r, err := modules.Execute(ctx, q, e)
	if err != nil || r.Failed {
		t.Fatalf("%+v %v", r, err)
	}
	row := r.Data["rows"].([]any)[0].(map[string]any)
	if row["v"] != evil || row["n"] != "42" || r.Changed {
		t.Errorf("row %v changed=%v", row, r.Changed)
	}
	r, _ = modules.Execute(ctx, (&pg.PostgresqlQuery{PgConn: conn(p), Query: "CREATE TABLE t (i int)"}), e)
	if !r.Changed || r.Failed {
		t.Errorf("DDL: %+v", r)
	}
	r, _ = modules.Execute(ctx, (&pg.PostgresqlQuery{PgConn: conn(p), Query: "SELEC 1"}), e)
	if !r.Failed || !strings.Contains(r.Msg, "syntax error") {
		t.Errorf("bad SQL: %+v", r)
	}
	// check mode does not run a write
	r, _ = modules.Execute(ctx, (&pg.PostgresqlQuery{PgConn: conn(p), Query: "DROP TABLE t"}), env(t, true))
	if !r.Skipped {
		t.Errorf("check mode ran a DROP: %+v", r)
	}
	if got := p.SQL("SELECT count(*) FROM pg_tables WHERE tablename = 't'"); got != "1" {
		t.Errorf("table t gone in check mode: %s", got)
	}
}

func TestPgConfOnARealServer(t *testing.T) {
	cluster := pgtest.New(t)
	p := cluster.Primary("p")
	ctx := context.Background()
	var warnings []string
	e := env(t, false)
	e.Warn = func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) }
	m := &pg.PgConf{PgConn: conn(p), Settings: map[string]string{"work_mem": "8MB", "max_wal_senders": "12", "application_name": "it's"}}
	// check mode: reports, changes nothing
	r, err := modules.Execute(ctx, m, env(t, true))
	if err != nil || !r.Changed {
		t.Fatalf("check: %+v %v", r, err)
	}
	if got := p.SQL("SHOW work_mem"); got != "4MB" {
		t.Fatalf("check mode changed work_mem to %s", got)
	}
	r, err = modules.Execute(ctx, m, e)
	if err != nil || !r.Changed || r.Failed {
		t.Fatalf("apply: %+v %v", r, err)
	}
	if got := p.SQL("SHOW work_mem"); got != "8MB" {
		t.Errorf("work_mem = %s after reload", got)
	}
	if r.Data["restart_required"] != true {
		t.Errorf("max_wal_senders needs a restart: %v", r.Data)
	}
	// postgresql.conf sets max_wal_senders = 10: the override is reported
	if len(warnings) == 0 || !strings.Contains(strings.Join(warnings, "\n"), "max_wal_senders: postgresql.auto.conf overrides") {
		t.Errorf("no override warning: %v", warnings)
	}
	r, err = modules.Execute(ctx, m, e)
	if err != nil || r.Changed {
		t.Errorf("second run changed: %+v %v", r, err)
	}
	r, _ = modules.Execute(ctx, (&pg.PgConf{PgConn: conn(p), Settings: map[string]string{"work_mme": "1MB"}}), e)
	if !r.Failed || !strings.Contains(r.Msg, `did you mean "work_mem"`) {
		t.Errorf("unknown parameter: %+v", r)
	}
	_, err = modules.Execute(ctx, (&pg.PgConf{PgConn: conn(p), Settings: map[string]string{"work_mem": "lots"}}), e)
	if err == nil || !strings.Contains(err.Error(), "invalid value") {
		t.Errorf("bad value: %v", err)
	}
	r, err = modules.Execute(ctx, (&pg.PgConf{PgConn: conn(p), Reset: modules.StringList{"work_mem"}}), e)
	if err != nil || !r.Changed || p.SQL("SHOW work_mem") != "4MB" {
		t.Errorf("reset: %+v %v", r, err)
	}
}

func TestPostgresqlUserOnARealServer(t *testing.T) {
	cluster := pgtest.New(t)
	p := cluster.Primary("p")
	ctx := context.Background()
	e := env(t, false)
	yes := true
	const pw = "s3cret-'pw\\"
	u := &pg.PostgresqlUser{PgConn: conn(p), Name: "replicator", Password: pw, Replication: &yes, State: "present"}
	r, err := modules.Execute(ctx, u, env(t, true))
	if err != nil || !r.Changed || p.SQL("SELECT count(*) FROM pg_roles WHERE rolname='replicator'") != "0" {
		t.Fatalf("check mode: %+v %v", r, err)
	}
	r, err = modules.Execute(ctx, u, e)
	if err != nil || !r.Changed {
		t.Fatalf("create: %+v %v", r, err)
	}
	if strings.Contains(r.Msg, pw) {
		t.Errorf("password in the result: %s", r.Msg)
	}
	if got := p.SQL("SELECT rolcanlogin::text || rolreplication::text || left(rolpassword, 13) FROM pg_authid WHERE rolname='replicator'"); got != "truetrueSCRAM-SHA-256" {
		t.Errorf("role: %s", got)
	}
	// the password works for a real login over TCP
	login := exec.Command("psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-p", fmt.Sprint(p.Port), "-U", "replicator", "-d", "postgres", "-c", "SELECT current_user")
	login.Env = append(os.Environ(), "PGPASSWORD="+pw)
	if out, err := login.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "replicator" {
		t.Errorf("login with the password: %v %s", err, out)
	}
	if r, err := modules.Execute(ctx, u, e); err != nil || r.Changed {
		t.Errorf("second run changed: %+v %v", r, err)
	}
	// expires: VALID UNTIL, compared as a time, not as text
	exp := *u
	exp.Expires = "2031-01-01 00:00:00+00"
	if r, err := modules.Execute(ctx, &exp, e); err != nil || !r.Changed {
		t.Errorf("expires: %+v %v", r, err)
	}
	exp.Expires = "2031-01-01T00:00:00Z"
	if r, err := modules.Execute(ctx, &exp, e); err != nil || r.Changed {
		t.Errorf("the same time written another way changed: %+v %v", r, err)
	}
	if got := p.SQL("SELECT extract(year FROM rolvaliduntil) FROM pg_roles WHERE rolname='replicator'"); got != "2031" {
		t.Errorf("valid until: %s", got)
	}
	md5 := *u
	md5.Encryption = "md5"
	if r, _ := modules.Execute(ctx, &md5, e); !r.Changed {
		t.Error("switching to md5 did not change")
	}
	if got := p.SQL("SELECT rolpassword FROM pg_authid WHERE rolname='replicator'"); !strings.HasPrefix(got, "md5") {
		t.Errorf("not md5: %s", got)
	}
	if r, _ := modules.Execute(ctx, &md5, e); r.Changed {
		t.Error("md5 second run changed")
	}
	// grants, as the lab gives client1
	p.SQL("CREATE DATABASE shop")
	c := &pg.PostgresqlUser{PgConn: pg.PgConn{DB: "shop", Port: p.Port, Host: p.Socket}, Name: "client1", Password: "c1", State: "present",
		DBPrivs: modules.StringList{"CONNECT"}, SchemaPrivs: map[string][]string{"public": {"USAGE", "CREATE"}}}
	if r, err := modules.Execute(ctx, c, e); err != nil || !r.Changed {
		t.Fatalf("client1: %+v %v", r, err)
	}
	if r, err := modules.Execute(ctx, c, e); err != nil || r.Changed {
		t.Errorf("client1 second run: %+v %v", r, err)
	}
	got := pgtest.AsPostgres(t, "psql", "-X", "-A", "-t", "-h", p.Socket, "-p", fmt.Sprint(p.Port), "-d", "shop", "-c", "SELECT has_schema_privilege('client1', 'public', 'CREATE')")
	if strings.TrimSpace(got) != "t" {
		t.Errorf("CREATE on public not granted: %s", got)
	}
	// one privilege taken away: only that one is granted again
	pgtest.AsPostgres(t, "psql", "-X", "-h", p.Socket, "-p", fmt.Sprint(p.Port), "-d", "shop", "-c", "REVOKE CREATE ON SCHEMA public FROM client1")
	if r, err := modules.Execute(ctx, c, e); err != nil || !r.Changed || r.Msg != `GRANT CREATE ON SCHEMA "public" TO client1` {
		t.Errorf("client1 after a revoke: %+v %v", r, err)
	}
}

func TestPgHbaOnARealServer(t *testing.T) {
	cluster := pgtest.New(t)
	p := cluster.Primary("p")
	ctx := context.Background()
	e := env(t, false)
	h := &pg.PgHba{PgConn: conn(p), Entries: []pg.HbaEntry{
		{Type: "host", Database: "replication", User: "replicator", Address: "127.0.0.2/32", Method: "scram-sha-256"},
		{Type: "host", Database: "all", User: "client1", Address: "127.0.0.0/8", Method: "md5"},
	}}
	r, err := modules.Execute(ctx, h, e)
	if err != nil || !r.Changed {
		t.Fatalf("%+v %v", r, err)
	}
	if got := p.SQL("SELECT count(*) FROM pg_hba_file_rules WHERE user_name = '{replicator}' AND line_number = 2"); got != "1" {
		t.Errorf("managed entry not first: %s", got)
	}
	if r, _ := modules.Execute(ctx, h, e); r.Changed {
		t.Error("second run changed")
	}
	hbaPath := p.SQL("SHOW hba_file")
	before, _ := os.ReadFile(hbaPath)
	bad := &pg.PgHba{PgConn: conn(p), Entries: []pg.HbaEntry{{Type: "host", Database: "all", User: "all", Address: "10.0.0.0/8", Method: "bogus"}}}
	r, err = modules.Execute(ctx, bad, e)
	if err != nil || !r.Failed || !strings.Contains(r.Msg, "line 2") || !strings.Contains(r.Msg, "bogus") {
		t.Errorf("bad method: %+v %v", r, err)
	}
	if after, _ := os.ReadFile(hbaPath); string(after) != string(before) {
		t.Errorf("rejected file not restored:\n%s", after)
	}
}

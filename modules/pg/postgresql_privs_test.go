package pg_test

import (
	"context"
	"testing"

	"github.com/runbook-lab/runbook/internal/testrig/pgtest"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/modules/pg"
)

// postgresql_privs on a real server: check mode grants nothing; a grant
// changes the ACL and a second one nothing; ALL_IN_SCHEMA, schema and
// database privileges; revoke; a missing role fails, or is skipped with
// fail_on_role false; a name with quotes is one name.
func TestPostgresqlPrivsOnARealServer(t *testing.T) {
	cluster := pgtest.New(t)
	p := cluster.Primary("p")
	ctx := context.Background()
	p.SQL(`CREATE ROLE reader; CREATE ROLE "odd ""role"""; CREATE TABLE public.t1 (i int); CREATE TABLE public.t2 (i int); CREATE SCHEMA app; CREATE SEQUENCE app.s1`)
	conn := pg.PgConn{Port: p.Port, Host: p.Socket, OSUser: "postgres"}
	privs := func(mod func(*pg.PostgresqlPrivs)) *pg.PostgresqlPrivs {
		x := &pg.PostgresqlPrivs{PgConn: conn, Database: "postgres", State: "present", Type: "table", Schema: "public",
			Privs: modules.StringList{"SELECT,INSERT"}, Objs: modules.StringList{"t1"}, Roles: modules.StringList{"reader"}}
		if mod != nil {
			mod(x)
		}
		if err := x.Validate(); err != nil {
			t.Fatal(err)
		}
		return x
	}
	can := func(sql string) string { return p.SQL(sql) }
	steps := []struct {
		name    string
		mod     func(*pg.PostgresqlPrivs)
		check   bool
		changed bool
		failed  bool
		probe   string
		want    string
	}{
		{"check mode", nil, true, true, false, `SELECT has_table_privilege('reader', 'public.t1', 'INSERT')`, "f"},
		{"grant", nil, false, true, false, `SELECT has_table_privilege('reader', 'public.t1', 'INSERT')`, "t"},
		{"again", nil, false, false, false, `SELECT has_table_privilege('reader', 'public.t1', 'SELECT')`, "t"},
		{"all in schema", func(x *pg.PostgresqlPrivs) {
			x.Objs = modules.StringList{"ALL_IN_SCHEMA"}
			x.Privs = modules.StringList{"SELECT"}
		}, false, true, false,
			`SELECT has_table_privilege('reader', 'public.t2', 'SELECT')`, "t"},
		{"sequence", func(x *pg.PostgresqlPrivs) {
			x.Type, x.Schema, x.Objs, x.Privs = "sequence", "app", modules.StringList{"s1"}, modules.StringList{"USAGE"}
		}, false, true, false, `SELECT has_sequence_privilege('reader', 'app.s1', 'USAGE')`, "t"},
		{"schema, odd role", func(x *pg.PostgresqlPrivs) {
			x.Type, x.Objs, x.Privs, x.Roles = "schema", modules.StringList{"app"}, modules.StringList{"USAGE"}, modules.StringList{`odd "role"`}
		}, false, true, false, `SELECT has_schema_privilege('odd "role"', 'app', 'USAGE')`, "t"},
		{"database", func(x *pg.PostgresqlPrivs) { x.Type, x.Objs, x.Privs = "database", nil, modules.StringList{"CREATE"} }, false, true, false,
			`SELECT has_database_privilege('reader', 'postgres', 'CREATE')`, "t"},
		{"revoke", func(x *pg.PostgresqlPrivs) { x.State, x.Privs = "absent", modules.StringList{"INSERT"} }, false, true, false,
			`SELECT has_table_privilege('reader', 'public.t1', 'INSERT')`, "f"},
		{"missing role", func(x *pg.PostgresqlPrivs) { x.Roles = modules.StringList{"nobody_here"} }, false, false, true, `SELECT 1`, "1"},
		{"missing role skipped", func(x *pg.PostgresqlPrivs) {
			f := false
			x.Roles, x.FailOnRole = modules.StringList{"nobody_here,reader"}, &f
			x.Privs = modules.StringList{"UPDATE"}
		}, false, true, false, `SELECT has_table_privilege('reader', 'public.t1', 'UPDATE')`, "t"},
	}
	for _, s := range steps {
		r, err := modules.Execute(ctx, privs(s.mod), env(t, s.check))
		if err != nil || r.Failed != s.failed || !s.failed && r.Changed != s.changed {
			t.Errorf("%s: %+v %v", s.name, r, err)
		}
		if got := can(s.probe); got != s.want {
			t.Errorf("%s: %s = %s, want %s", s.name, s.probe, got, s.want)
		}
	}
}

package modules_test

import (
	"context"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/internal/pgtest"
	"github.com/runbook-lab/runbook/modules"
)

func conn(s *pgtest.Server) modules.PgConn {
	return modules.PgConn{Port: s.Port, Host: s.Socket}
}

func TestPsqlScriptQuotesForPsql(t *testing.T) {
	got, err := modules.PsqlScript("SELECT :'a'", map[string]string{"a": "it's a \\ back\nslash"})
	want := "\\set a 'it''s a \\\\ back\\nslash'\nSELECT :'a';\n"
	if err != nil || got != want {
		t.Errorf("got %q, %v\nwant %q", got, err, want)
	}
	if _, err := modules.PsqlScript("x", map[string]string{"a;drop": "1"}); err == nil {
		t.Error("bad parameter name accepted")
	}
}

func TestPostgresqlQueryOnARealServer(t *testing.T) {
	pg := pgtest.New(t)
	p := pg.Primary("p")
	ctx := context.Background()
	e := env(t, false)
	// a value with quotes, backslashes and SQL is passed as data, not SQL
	evil := `x'); DROP TABLE t; --\ "q"`
	q := &modules.PostgresqlQuery{PgConn: conn(p), Query: "SELECT :'v' AS v, :'n'::int + 1 AS n", Params: map[string]string{"v": evil, "n": "41"}}
	r, err := q.Run(ctx, e)
	if err != nil || r.Failed {
		t.Fatalf("%+v %v", r, err)
	}
	row := r.Data["rows"].([]any)[0].(map[string]any)
	if row["v"] != evil || row["n"] != "42" || r.Changed {
		t.Errorf("row %v changed=%v", row, r.Changed)
	}
	r, _ = (&modules.PostgresqlQuery{PgConn: conn(p), Query: "CREATE TABLE t (i int)"}).Run(ctx, e)
	if !r.Changed || r.Failed {
		t.Errorf("DDL: %+v", r)
	}
	r, _ = (&modules.PostgresqlQuery{PgConn: conn(p), Query: "SELEC 1"}).Run(ctx, e)
	if !r.Failed || !strings.Contains(r.Msg, "syntax error") {
		t.Errorf("bad SQL: %+v", r)
	}
	// check mode does not run a write
	r, _ = (&modules.PostgresqlQuery{PgConn: conn(p), Query: "DROP TABLE t"}).Run(ctx, env(t, true))
	if !r.Skipped {
		t.Errorf("check mode ran a DROP: %+v", r)
	}
	if got := p.SQL("SELECT count(*) FROM pg_tables WHERE tablename = 't'"); got != "1" {
		t.Errorf("table t gone in check mode: %s", got)
	}
}

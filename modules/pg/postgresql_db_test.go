package pg_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/modules"

	"github.com/runbook-lab/runbook/internal/testrig/pgtest"
	"github.com/runbook-lab/runbook/modules/pg"
)

// postgresql_db on a real server: check mode touches nothing; created with
// its owner, template, encoding and limit; a second run changes nothing;
// owner and limit follow; an encoding it cannot change fails clearly; a
// name that is not a plain identifier is one name; dropped with its
// sessions ended.
func TestPostgresqlDBOnARealServer(t *testing.T) {
	cluster := pgtest.New(t)
	p := cluster.Primary("p")
	ctx := context.Background()
	e := env(t, false)
	p.SQL("CREATE ROLE shop_owner; CREATE ROLE other_owner")
	db := func(mod func(*pg.PostgresqlDB)) *pg.PostgresqlDB {
		d := &pg.PostgresqlDB{Name: `shop "eu"; DROP`, State: "present", Owner: "shop_owner", Template: "template0", Encoding: "UTF8",
			ConnLimit: "20", MaintenanceDB: "postgres", Port: p.Port, Host: p.Socket, OSUser: "postgres"}
		if mod != nil {
			mod(d)
		}
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		return d
	}
	exists := `SELECT count(*) FROM pg_database WHERE datname = 'shop "eu"; DROP'`
	if r, err := modules.Execute(ctx, db(nil), env(t, true)); err != nil || !r.Changed || p.SQL(exists) != "0" {
		t.Fatalf("check mode: %+v %v", r, err)
	}
	if r, err := modules.Execute(ctx, db(nil), e); err != nil || !r.Changed || r.Failed {
		t.Fatalf("create: %+v %v", r, err)
	}
	got := p.SQL(`SELECT pg_get_userbyid(datdba) || ' ' || pg_encoding_to_char(encoding) || ' ' || datconnlimit FROM pg_database WHERE datname = 'shop "eu"; DROP'`)
	if got != "shop_owner UTF8 20" {
		t.Errorf("created as %q", got)
	}
	if r, err := modules.Execute(ctx, db(nil), e); err != nil || r.Changed {
		t.Errorf("second run: %+v %v", r, err)
	}
	if r, err := modules.Execute(ctx, db(func(d *pg.PostgresqlDB) { d.Owner, d.ConnLimit = "other_owner", "-1" }), e); err != nil || !r.Changed {
		t.Errorf("owner and limit: %+v %v", r, err)
	}
	if got := p.SQL(`SELECT pg_get_userbyid(datdba) || ' ' || datconnlimit FROM pg_database WHERE datname = 'shop "eu"; DROP'`); got != "other_owner -1" {
		t.Errorf("after the change: %q", got)
	}
	if r, err := modules.Execute(ctx, db(func(d *pg.PostgresqlDB) { d.Encoding = "LATIN1"; d.Owner = "" }), e); err != nil || !r.Failed || !strings.Contains(r.Msg, "cannot be changed") {
		t.Errorf("another encoding: %+v %v", r, err)
	}
	// a session open on it: a plain drop would fail, force ends it
	hold := exec.Command("runuser", "-u", "postgres", "--", "psql", "-X", "-h", p.Socket, "-p", fmt.Sprint(p.Port), "-d", `shop "eu"; DROP`, "-c", "SELECT pg_sleep(30)")
	if err := hold.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { hold.Process.Kill(); hold.Wait() }()
	waitFor(t, func() bool {
		return p.SQL(`SELECT count(*) FROM pg_stat_activity WHERE datname = 'shop "eu"; DROP'`) == "1"
	}, "a session on the database")
	if r, err := modules.Execute(ctx, db(func(d *pg.PostgresqlDB) { d.State, d.Force = "absent", true }), e); err != nil || !r.Changed {
		t.Fatalf("drop: %+v %v", r, err)
	}
	if p.SQL(exists) != "0" || p.SQL("SELECT count(*) FROM pg_roles WHERE rolname = 'shop_owner'") != "1" {
		t.Error("not dropped, or more than the database went")
	}
	if r, err := modules.Execute(ctx, db(func(d *pg.PostgresqlDB) { d.State = "absent" }), e); err != nil || r.Changed {
		t.Errorf("dropping again: %+v %v", r, err)
	}
}

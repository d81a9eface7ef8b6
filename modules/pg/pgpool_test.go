package pg_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/internal/testrig/pgtest"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/modules/pg"
)

func TestPoolPasswdLine(t *testing.T) {
	// md5("secretclient1"), computed with Python's hashlib
	if got := pg.PoolPasswdLine("md5", "client1", "secret", ""); got != "client1:md599d1f504414c5419e070ca04ebf347fb" {
		t.Errorf("md5 entry %s", got)
	}
	// pgpool's own pg_enc -k (key "mykey") -u alice secret printed AESV7IMV7YNworqqZU1Z46Wgw==
	if got := pg.PoolPasswdLine("aes", "alice", "secret", "mykey"); got != "alice:AESV7IMV7YNworqqZU1Z46Wgw==" {
		t.Errorf("aes entry %s", got)
	}
	if got := pg.PoolPasswdLine("text", "u", "p w", ""); got != "u:TEXTp w" {
		t.Errorf("text entry %q", got)
	}
}

func TestPgpoolPasswdFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "pool_passwd")
	os.WriteFile(path, []byte("other:md5aaaa\n"), 0o644)
	me := currentUser(t)
	m := &pg.PgpoolPasswd{Path: path, Users: map[string]string{"client1": "s3cret", "client2": "two"}, Method: "md5", Owner: me, Group: me, Mode: modules.Mode{Set: true, Perm: 0o600}}
	r, err := modules.Execute(ctx, m, env(t, false))
	if err != nil || !r.Changed {
		t.Fatalf("%+v %v", r, err)
	}
	for _, d := range r.Diffs {
		if strings.Contains(d.Before+d.After, "s3cret") || strings.Contains(d.After, "md5") {
			t.Errorf("diff shows secrets: %+v", d)
		}
	}
	b, _ := os.ReadFile(path)
	want := "other:md5aaaa\n" + pg.PoolPasswdLine("md5", "client1", "s3cret", "") + "\n" + pg.PoolPasswdLine("md5", "client2", "two", "") + "\n"
	if string(b) != want {
		t.Errorf("file:\n%s\nwant:\n%s", b, want)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %o", st.Mode().Perm())
	}
	if r, _ := modules.Execute(ctx, m, env(t, false)); r.Changed {
		t.Error("second run changed")
	}
}

// pcp against a real pgpool-II in front of real servers: attach is a no-op
// for an up node; a detach is seen in the status; re-attach verified.
// pcp_node_info --verbose as pgpool 4.2 and 4.3 print it (from their
// sources, pcp_frontend_client.c); the short form's columns differ.
func TestParseNodeInfo(t *testing.T) {
	v42 := "Hostname               : 10.0.0.1\nPort                   : 5432\nStatus                 : 2\nWeight                 : 0.500000\nStatus Name            : up\nRole                   : standby\nReplication Delay      : 0\nReplication State      : streaming\nReplication Sync State : async\nLast Status Change     : 2026-11-30 12:51:16\n"
	v43 := "Hostname               : 10.77.0.10\nPort                   : 5432\nStatus                 : 2\nWeight                 : 0.333333\nStatus Name            : up\nBackend Status Name    : up\nRole                   : primary\nBackend Role           : unknown\nReplication Delay      : 0\nReplication State      : none\nReplication Sync State : none\nLast Status Change     : 2026-11-30 12:51:16\n"
	for out, want := range map[string]pg.NodeStatus{
		v42: {Host: "10.0.0.1", Port: "5432", Status: "2", Role: "standby"},
		v43: {Host: "10.77.0.10", Port: "5432", Status: "2", Role: "primary"},
	} {
		if got, err := pg.ParseNodeInfo(out); err != nil || got != want {
			t.Errorf("ParseNodeInfo = %+v, %v; want %+v", got, err, want)
		}
	}
	for _, bad := range []string{"", "10.77.0.10 5432 2 0.333333 up up primary unknown 0 none none", "Hostname : x\n"} {
		if _, err := pg.ParseNodeInfo(bad); err == nil {
			t.Errorf("ParseNodeInfo(%q) took it", bad)
		}
	}
}

func TestPcpNodeOnRealPgpool(t *testing.T) {
	cluster := pgtest.New(t)
	p1 := cluster.Primary("postgres1")
	pool := cluster.StartPgpool([]*pgtest.Server{p1}, "/bin/true", nil)
	ctx := context.Background()
	e := env(t, false)
	node := func(action string) *pg.PcpNode {
		return &pg.PcpNode{NodeID: 0, Action: action, Host: "127.0.0.1", Port: pool.PCPPort, User: "pgpool", Pcppass: pool.Pcppass, Timeout: 10}
	}
	waitFor(t, func() bool {
		r, err := modules.Execute(ctx, node("status"), e)
		return err == nil && r.Data["up"] == true
	}, "node 0 up in pgpool:\n"+pool.Log())
	// the role comes from pcp_node_info's named fields (the short form's
	// column for it moved in 4.3; promote waits on it)
	if r, _ := modules.Execute(ctx, node("status"), e); r.Data["role"] != "primary" {
		t.Fatalf("node 0's role: %+v", r.Data)
	}
	r, err := modules.Execute(ctx, node("attach"), e)
	if err != nil || r.Changed {
		t.Fatalf("attach of an up node: %+v %v", r, err)
	}
	if r, err := modules.Execute(ctx, node("detach"), env(t, true)); err != nil || !r.Changed {
		t.Fatalf("detach check: %+v %v", r, err)
	}
	if r, _ := modules.Execute(ctx, node("status"), e); r.Data["up"] != true {
		t.Fatal("check mode detached the node")
	}
	if r, err := modules.Execute(ctx, node("detach"), e); err != nil || !r.Changed || r.Data["up"] != false {
		t.Fatalf("detach: %+v %v\n%s", r, err, pool.Log())
	}
	if r, err := modules.Execute(ctx, node("attach"), e); err != nil || !r.Changed || r.Data["up"] != true {
		t.Fatalf("attach: %+v %v\n%s", r, err, pool.Log())
	}
	// a write through pgpool reaches the primary; right after a failback
	// pgpool restarts its children, so a client may see its connection
	// closed once and connect again, as an application would
	var out []byte
	waitFor(t, func() bool {
		var err error
		out, err = exec.Command("runuser", "-u", "postgres", "--", "sh", "-c", "PGPASSWORD=postgres-pw psql -X -q -A -t -h 127.0.0.1 -p "+strconv.Itoa(pool.Port)+" -U postgres -d postgres -c 'CREATE TABLE IF NOT EXISTS via_pool (i int); SELECT 1'").CombinedOutput()
		return err == nil
	}, "a write through pgpool after the failback")
	if strings.TrimSpace(string(out)) != "1" || p1.SQL("SELECT count(*) FROM pg_tables WHERE tablename='via_pool'") != "1" {
		t.Errorf("write through pgpool: %q", out)
	}
}

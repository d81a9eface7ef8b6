package templates

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func labVars() map[string]any {
	return map[string]any{"inventory_hostname": "postgres-client", "pgpool_failover_args": "%d %h %p %D %m %H %M %P %r %R %N %S",
		"replication_user": "replicator", "pgpool_listen_addresses": "*", "pgpool_port": 9999, "pcp_port": 9898,
		"pgpool_socket_dir": "/var/run/postgresql", "pgpool_run_dir": "/var/run/postgresql", "pgpool_children": 32,
		"pgpool_load_balance": true, "pgpool_sr_check_period": 0, "pgpool_delay_threshold": 0, "pgpool_check_user": "pgpool",
		"pgpool_health_check_period": 1, "pgpool_health_check_timeout": 5, "pgpool_failover_script": "/etc/pgpool2/failover.sh", "pgpool_failover_deadline": 45,
		"pgpool_backends": []any{
			map[string]any{"host": "10.0.0.1", "port": 5432, "name": "postgres1", "data_dir": "/d", "weight": 1},
			map[string]any{"host": "10.0.0.2", "port": 5432, "name": "postgres2", "data_dir": "/d", "weight": 1},
		}}
}

// failover.sh reads its arguments in the order pgpool.conf passes them:
// both come from pgpool_failover_args.
func TestFailoverScriptArgumentsFollowTheSetting(t *testing.T) {
	text, _ := fs.ReadFile(Files, "files/failover.sh.tmpl")
	out, err := Render("failover.sh", string(text), labVars())
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{`failed_node_id="${1}"`, `failed_host="${2}"`, `old_main_id="${7}"`, `old_primary_id="${8}"`, `old_primary_host="${11}"`, `old_primary_port="${12}"`} {
		if !strings.Contains(out, want) {
			t.Errorf("%d: %s missing from\n%s", i, want, out)
		}
	}
	if !strings.Contains(out, `BACKENDS="0:10.0.0.1:5432:postgres1 1:10.0.0.2:5432:postgres2 "`) {
		t.Error("backend list not rendered")
	}
	// the script is valid sh
	p := filepath.Join(t.TempDir(), "failover.sh")
	os.WriteFile(p, []byte(out), 0o755)
	if b, err := exec.Command("sh", "-n", p).CombinedOutput(); err != nil {
		t.Errorf("sh -n: %v %s", err, b)
	}
	// and the shell really reads the 11th and 12th arguments ("$11" would be "${1}1")
	args := []string{p, "1", "h1", "5432", "/d", "0", "h0", "0", "0", "5432", "/d", "oldprim", "6543"}
	probe := strings.Replace(out, "LOG=/var/log/postgresql/pgpool-failover.log", "echo \"$old_primary_host:$old_primary_port\"; exit 0", 1)
	os.WriteFile(p, []byte(probe), 0o755)
	if b, err := exec.Command("sh", args...).Output(); err != nil || strings.TrimSpace(string(b)) != "oldprim:6543" {
		t.Errorf("arguments 11 and 12 read as %q (%v)", b, err)
	}
	conf, _ := fs.ReadFile(Files, "files/pgpool.conf.tmpl")
	pc, err := Render("pgpool.conf", string(conf), labVars())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(pc, "failover_command = '/etc/pgpool2/failover.sh %d %h %p %D %m %H %M %P %r %R %N %S'") {
		t.Errorf("failover_command:\n%s", pc)
	}
	for _, obsolete := range []string{"master_slave", "ALWAYS_MASTER", "ALWAYS_PRIMARY", "follow_master_command"} {
		if strings.Contains(pc, obsolete) {
			t.Errorf("obsolete key %s in pgpool.conf", obsolete)
		}
	}
}

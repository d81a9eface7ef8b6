package pgtest

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/runbook-lab/runbook/internal/testrig/testenv"
	"github.com/runbook-lab/runbook/modules/pg"

	"github.com/runbook-lab/runbook/templates"
)

// Pgpool is a pgpool-II running on loopback in front of test servers.
type Pgpool struct {
	Port, PCPPort int
	Dir           string
	Pcppass       string // .pcppass for user "pgpool"
	cmd           *exec.Cmd
}

// StartPgpool renders runbook's own pgpool.conf template for the backends
// and runs pgpool-II as postgres. Every backend gets a role "pgpool"
// (password "pgpool-pw") for health and streaming checks; users maps extra
// client users to passwords for pool_passwd (AES entries).
func (e *Env) StartPgpool(backends []*Server, failoverScript string, users map[string]string) *Pgpool {
	t := e.t
	t.Helper()
	bin, err := exec.LookPath("pgpool")
	if err != nil {
		testenv.SkipOrFail(t, "no pgpool (apt-get install pgpool2)")
	}
	p := &Pgpool{Port: FreePort(t), PCPPort: FreePort(t), Dir: filepath.Join(e.Dir, "pgpool")}
	AsPostgres(t, "mkdir", "-p", p.Dir)
	var list []any
	for _, b := range backends {
		list = append(list, map[string]any{"host": "127.0.0.1", "port": b.Port, "data_dir": b.DataDir, "name": b.Name, "weight": 1})
	}
	vars := map[string]any{"inventory_hostname": "test", "pgpool_listen_addresses": "127.0.0.1", "pgpool_port": p.Port,
		"pcp_port": p.PCPPort, "pgpool_socket_dir": p.Dir, "pgpool_run_dir": p.Dir, "pgpool_backends": list,
		"pgpool_load_balance": true, "pgpool_sr_check_period": 0, "pgpool_delay_threshold": 0, "pgpool_check_user": "pgpool",
		"pgpool_health_check_period": 1, "pgpool_health_check_timeout": 5, "pgpool_children": 8, "pgpool_failover_script": failoverScript, "pgpool_failover_args": "%d %h %p %D %m %H %M %P %r %R %N %S"}
	text, err := fs.ReadFile(templates.Files, "files/pgpool.conf.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	conf, err := templates.Render("pgpool.conf", string(text), vars)
	if err != nil {
		t.Fatal(err)
	}
	WriteFile(t, filepath.Join(p.Dir, "pgpool.conf"), conf, 0o600)
	all := map[string]string{"pgpool": "pgpool-pw", "postgres": "postgres-pw"}
	for u, pass := range users {
		all[u] = pass
	}
	// AES entries made by runbook's pgpool_passwd code, decrypted by
	// pgpool with the pool key: pgpool must answer the backends' scram.
	const poolKey = "pgtest-pool-key"
	WriteFile(t, filepath.Join(p.Dir, ".pgpoolkey"), poolKey+"\n", 0o600)
	var pw strings.Builder
	for u, pass := range all {
		pw.WriteString(pg.PoolPasswdLine("aes", u, pass, poolKey) + "\n")
	}
	WriteFile(t, filepath.Join(p.Dir, "pool_passwd"), pw.String(), 0o600)
	WriteFile(t, filepath.Join(p.Dir, "pool_hba.conf"), "local all all trust\nhost all all 127.0.0.1/32 md5\n", 0o600)
	pcpSum := md5.Sum([]byte("pcp-pw"))
	WriteFile(t, filepath.Join(p.Dir, "pcp.conf"), "pgpool:"+hex.EncodeToString(pcpSum[:])+"\n", 0o600)
	p.Pcppass = filepath.Join(p.Dir, ".pcppass")
	WriteFile(t, p.Pcppass, "*:*:pgpool:pcp-pw\n", 0o600)
	for _, b := range backends {
		if b.SQL("SELECT pg_is_in_recovery()") == "f" {
			b.SQL("DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname='pgpool') THEN CREATE ROLE pgpool LOGIN PASSWORD 'pgpool-pw'; GRANT pg_monitor TO pgpool; END IF; END$$")
			b.SQL("ALTER ROLE postgres PASSWORD 'postgres-pw'")
		}
	}
	p.cmd = exec.Command("runuser", "-u", "postgres", "--", bin, "-n", "-k", filepath.Join(p.Dir, ".pgpoolkey"), "-f", filepath.Join(p.Dir, "pgpool.conf"),
		"-F", filepath.Join(p.Dir, "pcp.conf"), "-a", filepath.Join(p.Dir, "pool_hba.conf"))
	logf, _ := os.Create(filepath.Join(e.Dir, "pgpool.log"))
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	// its own process group: cleanup stops pgpool and every child it forked
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("runuser", "-u", "postgres", "--", bin, "-f", filepath.Join(p.Dir, "pgpool.conf"), "-m", "fast", "stop").Run()
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		logf.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p.Port), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(e.Dir, "pgpool.log"))
			t.Fatalf("pgpool did not start:\n%s", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return p
}

// Log returns pgpool's log.
func (p *Pgpool) Log() string {
	b, _ := os.ReadFile(filepath.Join(filepath.Dir(p.Dir), "pgpool.log"))
	return string(b)
}

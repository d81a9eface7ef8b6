// Package pgtest runs real PostgreSQL servers on loopback ports for module
// tests: initdb and pg_ctl from the machine's PostgreSQL packages, run as the
// postgres OS user, each server with its own data and socket directory.
// Tests skip with the reason when PostgreSQL is missing; under CI they fail.
package pgtest

import (
	"fmt"
	"github.com/runbook-lab/runbook/internal/testrig/testenv"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is one PostgreSQL instance.
type Server struct {
	Name    string
	Port    int
	DataDir string
	Socket  string // socket directory
	Bin     string
	t       testing.TB
}

// Env is a directory for servers, owned by postgres.
type Env struct {
	Dir string
	Bin string
	t   testing.TB
}

// BinDir finds the newest installed PostgreSQL's bin directory.
func BinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server installed (apt-get install postgresql)")
}

// New prepares a directory for servers; everything is removed at the end.
func New(t testing.TB) *Env {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping PostgreSQL test in -short mode")
	}
	bin, err := BinDir()
	if err != nil {
		testenv.SkipOrFail(t, "%v", err)
	}
	if os.Geteuid() != 0 {
		testenv.SkipOrFail(t, "PostgreSQL tests run the servers as the postgres user and need root")
	}
	pg, err := user.Lookup("postgres")
	if err != nil {
		testenv.SkipOrFail(t, "no postgres user")
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(pg.Uid)
	gid, _ := strconv.Atoi(pg.Gid)
	os.Chown(dir, uid, gid)
	os.Chmod(dir, 0o755)
	e := &Env{Dir: dir, Bin: bin, t: t}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return e
}

// AsPostgres runs a command as the postgres user and returns its output.
func AsPostgres(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// FreePort returns a free loopback TCP port.
func FreePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Server returns a server description (not yet created) named name.
func (e *Env) Server(name string) *Server {
	s := &Server{Name: name, Port: FreePort(e.t), DataDir: filepath.Join(e.Dir, name, "data"),
		Socket: filepath.Join(e.Dir, name), Bin: e.Bin, t: e.t}
	AsPostgres(e.t, "mkdir", "-p", s.Socket)
	return s
}

// Primary initialises and starts a primary ready for streaming replication,
// with a scram-authenticated replication rule for loopback.
func (e *Env) Primary(name string) *Server {
	s := e.Server(name)
	AsPostgres(e.t, "mkdir", "-p", filepath.Join(s.Socket, "archive"))
	AsPostgres(e.t, filepath.Join(e.Bin, "initdb"), "-D", s.DataDir, "-A", "peer", "--auth-host=scram-sha-256", "-U", "postgres", "--no-instructions")
	conf := `listen_addresses = '127.0.0.1'
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
wal_log_hints = on
fsync = off
synchronous_commit = on
archive_mode = on
archive_command = 'test ! -f ` + filepath.Join(s.Socket, "archive") + `/%f && cp %p ` + filepath.Join(s.Socket, "archive") + `/%f'
restore_command = 'cp ` + filepath.Join(s.Socket, "archive") + `/%f %p'
`
	f, err := os.OpenFile(filepath.Join(s.DataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	f.WriteString(conf)
	f.Close()
	hba := "local all all peer\nhost all all 127.0.0.1/32 scram-sha-256\nhost replication all 127.0.0.1/32 scram-sha-256\n"
	os.WriteFile(filepath.Join(s.DataDir, "pg_hba.conf"), []byte(hba), 0o600)
	s.Start()
	return s
}

// Start starts the server (port and socket on the command line, so a
// clone of another server's data directory gets its own).
func (s *Server) Start() {
	s.t.Helper()
	AsPostgres(s.t, filepath.Join(s.Bin, "pg_ctl"), "-D", s.DataDir, "-w", "-t", "60", "-l", filepath.Join(s.Socket, "log"),
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", s.Port, s.Socket), "start")
	s.t.Cleanup(func() { s.StopIfRunning() })
}

// Stop stops the server (fast mode).
func (s *Server) Stop() {
	s.t.Helper()
	AsPostgres(s.t, filepath.Join(s.Bin, "pg_ctl"), "-D", s.DataDir, "-w", "-m", "fast", "stop")
}

// StopIfRunning stops the server if it runs, ignoring errors (cleanup).
func (s *Server) StopIfRunning() {
	exec.Command("runuser", "-u", "postgres", "--", filepath.Join(s.Bin, "pg_ctl"), "-D", s.DataDir, "-m", "immediate", "stop").Run()
}

// Kill stops the server hard, as a crash would (SIGKILL to the postmaster).
func (s *Server) Kill() {
	b, err := os.ReadFile(filepath.Join(s.DataDir, "postmaster.pid"))
	if err != nil {
		return
	}
	pid, _ := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
	// pg_ctl's child is reparented to PID 1, which in some sandboxes never
	// reaps it: a zombie postmaster looks alive to PostgreSQL's own lock
	// check. A real crash leaves no such zombie, so remove the stale lock.
	for i := 0; i < 50; i++ {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			break
		}
		if strings.Contains(string(st), "State:\tZ") {
			os.Remove(filepath.Join(s.DataDir, "postmaster.pid"))
			// the socket's lock file names the same dead PID
			locks, _ := filepath.Glob(filepath.Join(s.Socket, ".s.PGSQL.*.lock"))
			for _, l := range locks {
				os.Remove(l)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
}

// SQL runs a query as postgres over the socket and returns its unaligned output.
func (s *Server) SQL(query string) string {
	s.t.Helper()
	out := AsPostgres(s.t, filepath.Join(s.Bin, "psql"), "-X", "-A", "-t", "-h", s.Socket, "-p", strconv.Itoa(s.Port), "-d", "postgres", "-c", query)
	return strings.TrimSpace(out)
}

// Log returns the server log, for failure messages.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Socket, "log"))
	return string(b)
}

// WriteFile writes a file owned by postgres.
func WriteFile(t testing.TB, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	pg, err := user.Lookup("postgres")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(pg.Uid)
	gid, _ := strconv.Atoi(pg.Gid)
	if err := os.Chown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
}

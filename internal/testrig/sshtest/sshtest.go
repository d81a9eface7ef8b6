// Package sshtest starts a real OpenSSH sshd on loopback for integration
// tests: a temporary config, fresh host and client keys, a free port, and
// several loopback addresses (127.0.0.2, .3, ...) that stand for several
// hosts. Tests skip, with the reason, when sshd cannot run here; under CI a
// missing sshd is a failure.
package sshtest

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"github.com/runbook-lab/runbook/internal/testrig/testenv"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/runbook-lab/runbook/transport"
)

// Server is a running sshd.
type Server struct {
	Port       int
	Addrs      []string // one loopback address per test host
	KeyFile    string   // client private key
	KnownHosts string   // known_hosts with the server's key for every address
	User       string
	Dir        string
	HostKey    ssh.PublicKey
	pids       []int // one sshd per 16 addresses
}

// Start runs sshd for the test's lifetime, accepting the current user with
// a fresh key on n loopback addresses.
func Start(t testing.TB, n int) *Server {
	t.Helper()
	var addrs []string
	for i := 0; i < n; i++ {
		// 127.0.0.2 .. 127.0.0.251, then 127.0.1.2 ...: all loopback
		addrs = append(addrs, fmt.Sprintf("127.0.%d.%d", i/250, i%250+2))
	}
	return StartIn(t, "", addrs)
}

// StartIn runs sshd inside a network namespace the test created (netns ""
// is this one), listening on the given addresses of that namespace.
func StartIn(t testing.TB, netns string, addrs []string) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping sshd test in -short mode")
	}
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		if _, e := os.Stat("/usr/sbin/sshd"); e == nil {
			sshd = "/usr/sbin/sshd"
		} else {
			testenv.SkipOrFail(t, "no sshd (apt-get install openssh-server)")
		}
	}
	u, _ := user.Current()
	dir := t.TempDir()
	// sshd refuses keys in group/world-writable directories.
	os.Chmod(dir, 0o700)
	s := &Server{Dir: dir, User: u.Username, KeyFile: filepath.Join(dir, "id_ed25519"), KnownHosts: filepath.Join(dir, "known_hosts")}
	hostKey := filepath.Join(dir, "ssh_host_ed25519_key")
	writeKey(t, hostKey)
	clientPub := writeKey(t, s.KeyFile)
	hk, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	s.HostKey, _, _, _, err = ssh.ParseAuthorizedKey(hk)
	if err != nil {
		t.Fatal(err)
	}
	// sshd reads authorized_keys as the logged-in user, who may not be the
	// test's user (become tests log in as runbook-test): a readable place.
	pubDir, err := os.MkdirTemp("", "sshtest-pub-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(pubDir) })
	os.Chmod(pubDir, 0o755)
	authKeys := filepath.Join(pubDir, "authorized_keys")
	if err := os.WriteFile(authKeys, clientPub, 0o644); err != nil {
		t.Fatal(err)
	}
	// The server also serves an ECDSA key that known_hosts does not list
	// (as most real hosts do): the client must ask for the key type it
	// knows, not the one Go prefers.
	ecdsaKey := filepath.Join(dir, "ssh_host_ecdsa_key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", ecdsaKey).CombinedOutput(); err != nil {
		testenv.SkipOrFail(t, "ssh-keygen: %v %s", err, out)
	}
	s.Port = freePort(t)
	s.Addrs = addrs
	// OpenSSH listens on at most 16 addresses per daemon: one daemon per 16,
	// all sharing the keys and the port.
	for first := 0; first < len(addrs); first += 16 {
		s.startDaemon(t, sshd, netns, addrs[first:min(first+16, len(addrs))], first/16, ecdsaKey, hostKey, authKeys)
	}
	var kh strings.Builder
	for _, a := range s.Addrs {
		fmt.Fprintf(&kh, "[%s]:%d %s", a, s.Port, hk)
	}
	if err := os.WriteFile(s.KnownHosts, []byte(kh.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// sessionSettings are the per-session costs sshd is set up with: fast by
// default (no PAM, 100 sessions per connection); with RUNBOOK_SSHD_STOCK=1
// as Debian ships it (PAM on every login, 10 sessions per connection), for
// benchmarks that measure what a fleet's hosts cost. MaxStartups stays
// raised either way: one daemon serves 16 addresses here, where a fleet has
// one per host.
func sessionSettings() string {
	if os.Getenv("RUNBOOK_SSHD_STOCK") == "1" {
		return "UsePAM yes\n"
	}
	return "UsePAM no\nMaxSessions 100\n"
}

// startDaemon runs one sshd on up to 16 of the addresses and waits until
// it accepts connections.
func (s *Server) startDaemon(t testing.TB, sshd, netns string, addrs []string, n int, ecdsaKey, hostKey, authKeys string) {
	dir := s.Dir
	var listen strings.Builder
	for _, a := range addrs {
		fmt.Fprintf(&listen, "ListenAddress %s:%d\n", a, s.Port)
	}
	cfg := fmt.Sprintf(`%sHostKey %s
HostKey %s
AuthorizedKeysFile %s
PidFile %s/sshd-%d.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
%sMaxStartups 100:30:200
LogLevel ERROR
Subsystem sftp internal-sftp
`, listen.String(), ecdsaKey, hostKey, authKeys, dir, n, sessionSettings())
	cfgFile := filepath.Join(dir, fmt.Sprintf("sshd_config-%d", n))
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.MkdirAll("/run/sshd", 0o755)
	cmd := exec.Command(sshd, "-D", "-e", "-f", cfgFile)
	if netns != "" {
		cmd = exec.Command("ip", "netns", "exec", netns, sshd, "-D", "-e", "-f", cfgFile)
	}
	logName := "sshd.log"
	if n > 0 {
		logName = fmt.Sprintf("sshd-%d.log", n)
	}
	logf, _ := os.Create(filepath.Join(dir, logName))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		testenv.SkipOrFail(t, "sshd did not start: %v", err)
	}
	s.pids = append(s.pids, cmd.Process.Pid)
	t.Cleanup(func() {
		s.signalTree(syscall.SIGCONT)
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := dialIn(netns, fmt.Sprintf("%s:%d", addrs[len(addrs)-1], s.Port))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, logName))
			testenv.SkipOrFail(t, "sshd not listening: %s", log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Freeze stops sshd and every process it started (SIGSTOP): the host
// accepts nothing and answers nothing, as a host whose packets are dropped.
// The test's cleanup thaws it.
func (s *Server) Freeze() { s.signalTree(syscall.SIGSTOP) }

// signalTree signals sshd and all its descendants.
func (s *Server) signalTree(sig syscall.Signal) {
	children := map[int][]int{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after ')'
		i := strings.LastIndexByte(string(b), ')')
		f := strings.Fields(string(b[i+1:]))
		var pid, ppid int
		fmt.Sscan(filepath.Base(filepath.Dir(st)), &pid)
		if len(f) > 1 {
			fmt.Sscan(f[1], &ppid)
		}
		children[ppid] = append(children[ppid], pid)
	}
	todo := append([]int(nil), s.pids...)
	for len(todo) > 0 {
		p := todo[0]
		todo = append(todo[1:], children[p]...)
		syscall.Kill(p, sig)
	}
}

// Inventory writes an inventory naming the hosts host1..hostN and returns its path.
func (s *Server) Inventory(t testing.TB, extra string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("all:\n  hosts:\n")
	for i, a := range s.Addrs {
		fmt.Fprintf(&b, "    host%d:\n      ansible_host: %s\n      ansible_port: %d\n      ansible_user: %s\n      ansible_ssh_private_key_file: %s\n",
			i+1, a, s.Port, s.User, s.KeyFile)
	}
	b.WriteString(extra)
	p := filepath.Join(t.TempDir(), "inventory.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeKey(t testing.TB, path string) []byte {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	line := ssh.MarshalAuthorizedKey(sp)
	if err := os.WriteFile(path+".pub", line, 0o644); err != nil {
		t.Fatal(err)
	}
	return line
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ReadLog returns sshd's log, for failure messages.
func (s *Server) ReadLog() string {
	f, err := os.Open(filepath.Join(s.Dir, "sshd.log"))
	if err != nil {
		return ""
	}
	defer f.Close()
	var b strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return b.String()
}

func dialIn(netns, addr string) (net.Conn, error) {
	if netns == "" {
		return net.DialTimeout("tcp", addr, time.Second)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return transport.DialIn(ctx, netns, "tcp", addr)
}

package transport

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/runbook-lab/runbook/hostexec"
)

// SSHConfig says how to reach one host.
type SSHConfig struct {
	Name     string // inventory name
	Addr     string // host or IP
	Port     int
	User     string
	KeyFiles []string
	Password []byte // -k; nil when none
	// KnownHosts is the known_hosts file checked for host keys.
	KnownHosts string
	// AcceptNew adds unknown host keys to KnownHosts (never changed ones).
	AcceptNew bool
	Jump      *SSHConfig // optional bastion, e.g. the hypervisor in the lab
	// NetNS, when set, is a network namespace (in /run/netns) that the
	// connection is made from: hosts on a lab bridge that exists only there.
	NetNS   string
	Timeout time.Duration
	// PerCommandSessions runs every command in a session of its own
	// instead of the host's persistent shell (see shell).
	PerCommandSessions bool
}

// UnreachableError means the host could not be connected to; the runner
// marks such a host unreachable instead of failed.
type UnreachableError struct {
	Host string
	Err  error
}

func (e *UnreachableError) Error() string { return fmt.Sprintf("%s unreachable: %v", e.Host, e.Err) }
func (e *UnreachableError) Unwrap() error { return e.Err }

// SSH is one persistent SSH connection to a host; each command gets its own
// session on it.
type SSH struct {
	cfg    SSHConfig
	mu     sync.Mutex // guards client: a connection found lost is dialled again
	client *ssh.Client
	jump   *ssh.Client

	shellMu sync.Mutex // guards sh and noShell
	sh      *shell     // the persistent shell; nil until first used
	noShell bool       // the host's shell cannot be driven: a session per command
	// shellFails counts shells that would not start
	shellFails int
}

// hostKeyLock serialises known_hosts appends across hosts.
var hostKeyLock sync.Mutex

// DialSSH connects to the host (through the jump host when set).
func DialSSH(ctx context.Context, cfg SSHConfig) (*SSH, error) {
	s := &SSH{cfg: cfg}
	var err error
	if cfg.Jump != nil {
		j, err := DialSSH(ctx, *cfg.Jump)
		if err != nil {
			return nil, &UnreachableError{Host: cfg.Name, Err: fmt.Errorf("jump host: %w", err)}
		}
		s.jump = j.client
	}
	s.client, err = s.dial(ctx)
	if err != nil {
		if s.jump != nil {
			s.jump.Close()
		}
		var ue *UnreachableError
		if errors.As(err, &ue) {
			return nil, err
		}
		return nil, &UnreachableError{Host: cfg.Name, Err: err}
	}
	return s, nil
}

func (s *SSH) dial(ctx context.Context) (*ssh.Client, error) {
	cfg := s.cfg
	port := cfg.Port
	if port == 0 {
		port = 22
	}
	addr := net.JoinHostPort(cfg.Addr, strconv.Itoa(port))
	auths, err := authMethods(cfg)
	if err != nil {
		return nil, err
	}
	hk, err := hostKeyCallback(cfg)
	if err != nil {
		return nil, err
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	ccfg := &ssh.ClientConfig{User: cfg.User, Auth: auths, HostKeyCallback: hk, Timeout: timeout,
		HostKeyAlgorithms: knownAlgorithms(cfg, addr)}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var conn net.Conn
	if s.jump != nil {
		conn, err = s.jump.DialContext(dctx, "tcp", addr)
	} else if cfg.NetNS != "" {
		conn, err = DialIn(dctx, cfg.NetNS, "tcp", addr)
	} else {
		var d net.Dialer
		conn, err = d.DialContext(dctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	// a host that accepts TCP and then goes silent must not hang the
	// handshake: the timeout covers it too
	_ = conn.SetDeadline(time.Now().Add(timeout))
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, ccfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	client := ssh.NewClient(c, chans, reqs)
	go keepAlive(client, timeout)
	return client, nil
}

// keepAlive asks the server for a reply every timeout/2 (1 to 15 s) and
// closes the connection when none came for three of those: a host that went
// silent (packets dropped, frozen) then fails its command as unreachable
// instead of hanging the run.
func keepAlive(c *ssh.Client, timeout time.Duration) {
	every := min(max(timeout/2, time.Second), 15*time.Second)
	closed := make(chan struct{})
	go func() { c.Wait(); close(closed) }()
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	for {
		select {
		case <-closed:
			return
		case <-time.After(every):
		}
		go func() {
			if _, _, err := c.SendRequest("keepalive@openssh.com", true, nil); err == nil {
				last.Store(time.Now().UnixNano())
			}
		}()
		if time.Since(time.Unix(0, last.Load())) > 3*every {
			c.Close()
			return
		}
	}
}

func authMethods(cfg SSHConfig) ([]ssh.AuthMethod, error) {
	var signers []ssh.Signer
	for _, f := range cfg.KeyFiles {
		b, err := os.ReadFile(expandHome(f))
		if err != nil {
			return nil, fmt.Errorf("private key: %w", err)
		}
		sg, err := ssh.ParsePrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("private key %s: %w", f, err)
		}
		signers = append(signers, sg)
	}
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
		if c, err := net.Dial("unix", sock); err == nil {
			if more, err := agent.NewClient(c).Signers(); err == nil {
				signers = append(signers, more...)
			}
		}
	}
	if len(cfg.KeyFiles) == 0 {
		for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
			if b, err := os.ReadFile(expandHome("~/.ssh/" + n)); err == nil {
				if sg, err := ssh.ParsePrivateKey(b); err == nil {
					signers = append(signers, sg)
				}
			}
		}
	}
	var auths []ssh.AuthMethod
	if len(signers) > 0 {
		auths = append(auths, ssh.PublicKeys(signers...))
	}
	if cfg.Password != nil {
		pw := string(cfg.Password)
		auths = append(auths, ssh.Password(pw), ssh.KeyboardInteractive(
			func(_, _ string, qs []string, _ []bool) ([]string, error) {
				a := make([]string, len(qs))
				for i := range a {
					a[i] = pw
				}
				return a, nil
			}))
	}
	if len(auths) == 0 {
		return nil, errors.New("no SSH key, agent or password to authenticate with")
	}
	return auths, nil
}

// HostKeyMismatchError is a host key that differs from known_hosts.
type HostKeyMismatchError struct {
	Host, File string
}

func (e *HostKeyMismatchError) Error() string {
	return fmt.Sprintf("host key for %s does not match %s: possible man-in-the-middle, or the host was rebuilt (remove its line with ssh-keygen -R)", e.Host, e.File)
}

func hostKeyCallback(cfg SSHConfig) (ssh.HostKeyCallback, error) {
	file := knownHostsFile(cfg)
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		if !cfg.AcceptNew {
			return nil, fmt.Errorf("no known_hosts file %s: add the host key, or pass --ssh-accept-new", file)
		}
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			return nil, err
		}
	}
	check, err := loadKnownHosts(file)
	if err != nil {
		return nil, fmt.Errorf("known_hosts %s: %w", file, err)
	}
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := check(hostname, remote, key)
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			if len(ke.Want) > 0 {
				return &HostKeyMismatchError{Host: cfg.Name + " (" + hostname + ")", File: file}
			}
			if !cfg.AcceptNew {
				return fmt.Errorf("host key for %s (%s) is not in %s (pass --ssh-accept-new to add it)", cfg.Name, hostname, file)
			}
			hostKeyLock.Lock()
			defer hostKeyLock.Unlock()
			f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0o600)
			if err != nil {
				return err
			}
			defer forgetKnownHosts(file)
			defer f.Close()
			_, err = fmt.Fprintln(f, knownhosts.Line([]string{knownhosts.Normalize(hostname)}, key))
			return err
		}
		return err
	}, nil
}

// knownAlgorithms lists the host key algorithms of the keys known_hosts
// holds for addr, so the server is asked for a key we can check: Go prefers
// ECDSA, and a host known only by its ed25519 key would otherwise be
// refused as a mismatch. nil (Go's default order) when none is known.
func knownAlgorithms(cfg SSHConfig, addr string) []string {
	file := knownHostsFile(cfg)
	check, err := loadKnownHosts(file)
	if err != nil {
		return nil
	}
	// a key no host has: the error lists the keys known for this address
	probe, _ := ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	remote, _ := net.ResolveTCPAddr("tcp", addr)
	if remote == nil {
		remote = &net.TCPAddr{}
	}
	var ke *knownhosts.KeyError
	if !errors.As(check(addr, remote, probe), &ke) || len(ke.Want) == 0 {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	for _, k := range ke.Want {
		names := []string{k.Key.Type()}
		if k.Key.Type() == ssh.KeyAlgoRSA {
			names = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
		}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				algos = append(algos, n)
			}
		}
	}
	return algos
}

// knownHostsCache keeps each known_hosts file parsed once for the run
// (while it is unchanged): parsing it for every connection made a fleet's
// cost grow with hosts squared, in CPU and in memory.
var knownHostsCache = struct {
	sync.Mutex
	byFile map[string]*knownHostsEntry
}{byFile: map[string]*knownHostsEntry{}}

type knownHostsEntry struct {
	once  sync.Once
	mod   time.Time
	size  int64
	check ssh.HostKeyCallback
	err   error
}

func loadKnownHosts(file string) (ssh.HostKeyCallback, error) {
	st, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	knownHostsCache.Lock()
	e, ok := knownHostsCache.byFile[file]
	if !ok || !e.mod.Equal(st.ModTime()) || e.size != st.Size() {
		e = &knownHostsEntry{mod: st.ModTime(), size: st.Size()}
		knownHostsCache.byFile[file] = e
	}
	knownHostsCache.Unlock()
	e.once.Do(func() { e.check, e.err = knownhosts.New(file) })
	return e.check, e.err
}

// forgetKnownHosts drops a file's parsed copy after runbook appended to it.
func forgetKnownHosts(file string) {
	knownHostsCache.Lock()
	delete(knownHostsCache.byFile, file)
	knownHostsCache.Unlock()
}

// knownHostsFile is the known_hosts file a connection checks.
func knownHostsFile(cfg SSHConfig) string {
	if cfg.KnownHosts != "" {
		return expandHome(cfg.KnownHosts)
	}
	return expandHome("~/.ssh/known_hosts")
}

func expandHome(p string) string {
	if strings.HasPrefix(p, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, p[2:])
		}
	}
	return p
}

// Name returns the inventory name.
func (s *SSH) Name() string { return s.cfg.Name }

// Run runs the script in the host's persistent shell, or in a new session
// on the persistent connection (see shell). A cancelled context kills the
// remote command and closes the session.
func (s *SSH) Run(ctx context.Context, cmd hostexec.Cmd) (hostexec.CmdResult, error) {
	if res, ok, err := s.runInShell(ctx, cmd); ok {
		return res, err
	}
	client := s.current()
	sess, err := client.NewSession()
	if err != nil {
		// lost while idle (the keepalive gave up on a host busy for a
		// while, or the peer closed it): nothing ran yet, so a new
		// connection may run it, as Ansible's next task connects anew
		if client, err = s.redial(ctx, client); err == nil {
			sess, err = client.NewSession()
		}
		if err != nil {
			return hostexec.CmdResult{}, &UnreachableError{Host: s.cfg.Name, Err: err}
		}
	}
	defer sess.Close()
	var out, errb bytes.Buffer
	sess.Stdout, sess.Stderr = &out, &errb
	if cmd.Stdin != nil {
		sess.Stdin = bytes.NewReader(cmd.Stdin)
	}
	// exec sh so the session's process is the shell; its process group is
	// killed by the remote sshd when the channel closes.
	if err := sess.Start("exec /bin/sh -c " + hostexec.Quote(cmd.Script)); err != nil {
		if strings.HasPrefix(err.Error(), "ssh: command ") {
			return hostexec.CmdResult{}, err // the server refused the command
		}
		// anything else is the connection, closed between the session and
		// its command (a host gone silent, closed by the keepalive)
		return hostexec.CmdResult{}, &UnreachableError{Host: s.cfg.Name, Err: fmt.Errorf("connection lost before the command started: %w", err)}
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = sess.Signal(ssh.SIGTERM)
		_ = sess.Close()
		return hostexec.CmdResult{RC: -1, Stdout: out.String(), Stderr: errb.String()}, ctx.Err()
	}
	res := hostexec.CmdResult{Stdout: out.String(), Stderr: errb.String()}
	var exit *ssh.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.RC = exit.ExitStatus()
	default:
		var missing *ssh.ExitMissingError
		if errors.As(err, &missing) {
			return res, &UnreachableError{Host: s.cfg.Name, Err: errors.New("connection lost during command")}
		}
		return res, err
	}
	return res, nil
}

// DialUnix opens a unix socket on the remote host through the connection
// (for libvirt's socket on a remote hypervisor).
func (s *SSH) DialUnix(path string) (net.Conn, error) { return s.dialThrough("unix", path) }

// dialThrough opens a channel to addr on the remote side, dialling the
// connection again once if it was lost (a refusal by the remote side is
// an answer, not a lost connection).
func (s *SSH) dialThrough(network, addr string) (net.Conn, error) {
	client := s.current()
	c, err := client.Dial(network, addr)
	var refused *ssh.OpenChannelError
	if err == nil || errors.As(err, &refused) {
		return c, err
	}
	if client, err = s.redial(context.Background(), client); err != nil {
		return nil, &UnreachableError{Host: s.cfg.Name, Err: err}
	}
	return client.Dial(network, addr)
}

// current is the connection in use.
func (s *SSH) current() *ssh.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.client
}

// redial replaces the lost connection with a new one; callers that found
// the same connection lost share one new connection.
func (s *SSH) redial(ctx context.Context, lost *ssh.Client) (*ssh.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != lost {
		return s.client, nil
	}
	c, err := s.dial(ctx)
	if err != nil {
		return nil, err
	}
	lost.Close()
	s.client = c
	return c, nil
}

// DialTCP opens a TCP connection from the remote host to addr, through the
// SSH connection (a forwarded connection: the drill's probe reaches pgpool
// on the client host this way, as an application there would).
//
// An SSH channel has no deadlines, so a peer that stops answering (a frozen
// node) would block a reader forever: the connection returned closes
// itself when a deadline set on it passes, which is what a database
// driver's timeouts and cancellations rely on.
func (s *SSH) DialTCP(addr string) (net.Conn, error) {
	c, err := s.dialThrough("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &deadlineConn{Conn: c}, nil
}

// deadlineConn gives a connection without deadlines (an SSH channel) the
// one effect of a deadline that matters to its users: when it passes, the
// blocked read or write returns (the connection is closed).
type deadlineConn struct {
	net.Conn
	mu    sync.Mutex
	timer *time.Timer
}

func (c *deadlineConn) SetDeadline(t time.Time) error      { c.arm(t); return nil }
func (c *deadlineConn) SetReadDeadline(t time.Time) error  { c.arm(t); return nil }
func (c *deadlineConn) SetWriteDeadline(t time.Time) error { c.arm(t); return nil }

func (c *deadlineConn) arm(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if t.IsZero() {
		return
	}
	if d := time.Until(t); d > 0 {
		c.timer = time.AfterFunc(d, func() { c.Conn.Close() })
		return
	}
	c.Conn.Close()
}

// Close closes the connection and the jump connection.
func (s *SSH) Close() error {
	s.shellMu.Lock()
	if s.sh != nil {
		s.sh.close()
		s.sh = nil
	}
	s.shellMu.Unlock()
	err := s.current().Close()
	if s.jump != nil {
		s.jump.Close()
	}
	return err
}

var _ Conn = (*SSH)(nil)

package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os/user"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runbook-lab/runbook/internal/truth"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/transport"
)

// Connector opens one connection per host for the whole run and hands out
// modules.Host values (wrapped in sudo when a task becomes another user).
type Connector struct {
	KnownHosts string
	AcceptNew  bool
	Password   []byte // -k
	NetNS      string // dial from this network namespace (--netns)
	// Timeout bounds dialling and the SSH handshake, and sets how long a
	// connected host may stay silent (-T); 0 means 10 s.
	Timeout time.Duration
	// HostVars returns an inventory host's variables (for jump hosts and
	// delegate_to); ok is false for a name not in the inventory.
	HostVars func(name string) (map[string]any, bool)

	// User and KeyFile are -u and --private-key: used for hosts whose
	// inventory names no ansible_user or key (the inventory wins, as in
	// Ansible).
	User, KeyFile string
	// DialLimit bounds SSH handshakes in flight, apart from --forks: a
	// thousand handshakes at once starve each other of CPU and time out,
	// and healthy hosts would be reported unreachable. 0 means 64.
	DialLimit int
	// PerCommandSessions runs every command in an SSH session of its own
	// instead of each host's persistent shell (--ssh-per-command; a host's
	// runbook_ssh_per_command: true does it for that host).
	PerCommandSessions bool
	// Dial, when set, replaces SSH and local connections (tests' recording
	// hosts).
	Dial func(ctx context.Context, name string, vars map[string]any) (transport.Conn, error)

	mu      sync.Mutex
	conns   map[string]*connSlot
	dialSem chan struct{}
}

type connSlot struct {
	once sync.Once
	conn transport.Conn
	err  error
}

// Connect returns the host's connection, dialling it on first use.
func (c *Connector) Connect(ctx context.Context, name string, vars map[string]any) (transport.Conn, error) {
	c.mu.Lock()
	if c.conns == nil {
		c.conns = map[string]*connSlot{}
	}
	slot, ok := c.conns[name]
	if !ok {
		slot = &connSlot{}
		c.conns[name] = slot
	}
	c.mu.Unlock()
	slot.once.Do(func() { slot.conn, slot.err = c.dial(ctx, name, vars) })
	return slot.conn, slot.err
}

// ConnectWait is Connect for a host that may still be booting: it dials
// again every two seconds until the timeout, and then reports the last error.
func (c *Connector) ConnectWait(ctx context.Context, name string, vars map[string]any, timeout time.Duration) (transport.Conn, error) {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := c.Connect(ctx, name, vars)
		if err == nil {
			return conn, nil
		}
		var mismatch *transport.HostKeyMismatchError
		if errors.As(err, &mismatch) || time.Now().After(deadline) {
			return nil, fmt.Errorf("%s: no connection within %s: %w", name, timeout, err)
		}
		c.mu.Lock()
		delete(c.conns, name) // forget the failure, dial again
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

func (c *Connector) dial(ctx context.Context, name string, vars map[string]any) (transport.Conn, error) {
	// Only ansible_connection: local is local (the implicit localhost gets
	// it when it is made). A host the inventory calls localhost or
	// 127.0.0.1 is reached over SSH as Ansible does, with its port, user
	// and key: running it here as the caller would bypass them all.
	if c.Dial != nil {
		return c.Dial(ctx, name, vars)
	}
	conn := str(vars["ansible_connection"])
	switch conn {
	case "local":
		return &transport.Local{HostName: name}, nil
	case "", "ssh", "smart", "paramiko":
	default:
		return nil, fmt.Errorf("%s: ansible_connection %q is not supported (local or ssh)", name, conn)
	}
	cfg, err := c.sshConfig(name, vars, 0)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.dialSem == nil {
		n := c.DialLimit
		if n <= 0 {
			n = 64
		}
		c.dialSem = make(chan struct{}, n)
	}
	sem := c.dialSem
	c.mu.Unlock()
	for attempt := 1; ; attempt++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		conn2, err := transport.DialSSH(ctx, *cfg)
		<-sem
		if err == nil {
			return conn2, nil
		}
		if attempt == 3 || !transient(err) || ctx.Err() != nil {
			return nil, err // not a typed nil inside the interface
		}
		time.Sleep(time.Duration(attempt) * 250 * time.Millisecond)
	}
}

// transient reports a dial failure worth one more try: the TCP
// connection was made but the SSH handshake timed out or was dropped (a
// burst of handshakes, sshd's MaxStartups), never a refused or unreachable
// address, a refused key or a changed host key.
func transient(err error) bool {
	var mismatch *transport.HostKeyMismatchError
	if errors.As(err, &mismatch) {
		return false
	}
	msg := err.Error()
	if !strings.Contains(msg, "handshake failed") {
		return false
	}
	return strings.Contains(msg, "EOF") || strings.Contains(msg, "connection reset by peer") ||
		strings.Contains(msg, "i/o timeout")
}

var jumpFlag = regexp.MustCompile(`(?:-J\s*|ProxyJump=)(\S+)`)

func (c *Connector) sshConfig(name string, vars map[string]any, depth int) (*transport.SSHConfig, error) {
	// Ansible's older names (ansible_ssh_host, _port, _user) still work
	for old, cur := range map[string]string{"ansible_ssh_host": "ansible_host", "ansible_ssh_port": "ansible_port", "ansible_ssh_user": "ansible_user"} {
		if _, set := vars[cur]; !set && vars[old] != nil {
			vars = maps.Clone(vars)
			vars[cur] = vars[old]
		}
	}
	cfg := &transport.SSHConfig{Name: name, Addr: str(vars["ansible_host"]), User: str(vars["ansible_user"]),
		KnownHosts: c.KnownHosts, AcceptNew: c.AcceptNew, Password: c.Password, NetNS: c.NetNS, Timeout: c.Timeout,
		PerCommandSessions: c.PerCommandSessions || truth.Keyword(vars["runbook_ssh_per_command"])}
	if cfg.Addr == "" {
		cfg.Addr = name
	}
	if p := str(vars["ansible_port"]); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("%s: ansible_port %q is not a number", name, p)
		}
		cfg.Port = port
	}
	if cfg.User == "" {
		cfg.User = c.User
	}
	if cfg.User == "" {
		if u, err := user.Current(); err == nil {
			cfg.User = u.Username
		}
	}
	if pw := str(vars["ansible_password"]); pw != "" {
		cfg.Password = []byte(pw)
	}
	// hosts this run created carry their own known_hosts (host keys made
	// before their first boot)
	if kh := str(vars["ansible_ssh_known_hosts_file"]); kh != "" {
		cfg.KnownHosts = kh
	}
	if k := str(vars["ansible_ssh_private_key_file"]); k != "" {
		cfg.KeyFiles = []string{k}
	} else if c.KeyFile != "" {
		cfg.KeyFiles = []string{c.KeyFile}
	}
	jump := str(vars["jump"])
	if m := jumpFlag.FindStringSubmatch(str(vars["ansible_ssh_common_args"])); m != nil && jump == "" {
		jump = strings.Trim(m[1], `'"`)
	}
	if jump != "" {
		if depth > 3 {
			return nil, fmt.Errorf("%s: jump hosts nested too deep", name)
		}
		jc, err := c.jumpConfig(jump, depth)
		if err != nil {
			return nil, fmt.Errorf("%s: jump host: %w", name, err)
		}
		cfg.Jump = jc
	}
	return cfg, nil
}

// jumpConfig reads a jump spec: an inventory host name, or [user@]host[:port].
func (c *Connector) jumpConfig(spec string, depth int) (*transport.SSHConfig, error) {
	if c.HostVars != nil {
		if vars, ok := c.HostVars(spec); ok {
			return c.sshConfig(spec, vars, depth+1)
		}
	}
	vars := map[string]any{}
	hostPart := spec
	if u, h, ok := strings.Cut(spec, "@"); ok {
		vars["ansible_user"], hostPart = u, h
	}
	if h, p, ok := strings.Cut(hostPart, ":"); ok {
		hostPart = h
		vars["ansible_port"] = p
	}
	vars["ansible_host"] = hostPart
	return c.sshConfig(spec, vars, depth+1)
}

// Drop closes a host's connection and forgets it: the next Connect dials
// again (a host that rebooted).
func (c *Connector) Drop(name string) {
	c.mu.Lock()
	slot := c.conns[name]
	delete(c.conns, name)
	c.mu.Unlock()
	if slot != nil && slot.conn != nil {
		slot.conn.Close()
	}
}

// Close closes every connection.
func (c *Connector) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.conns {
		if s.conn != nil {
			s.conn.Close()
		}
	}
	c.conns = nil
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// withBecome wraps a host so commands run as user through sudo.
func withBecome(h modules.Host, become bool, user string, password []byte) modules.Host {
	if !become {
		return h
	}
	return &transport.Become{Inner: h, User: user, Password: password}
}

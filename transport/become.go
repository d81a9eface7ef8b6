package transport

import (
	"context"
	"net"
	"strings"

	"github.com/runbook-lab/runbook/hostexec"
)

// Become runs commands as another user through sudo.
//
// The password, when there is one, travels as the first line of the
// session's stdin and is read by the wrapper shell's `read` builtin (never a
// process argument). The shell exports it and lets sudo fetch it through
// askpass (`sudo -A`, with printenv as the askpass program and the variable's
// name as the prompt), so sudo gets it only when it really asks: when sudo
// does not prompt (root, NOPASSWD, cached credentials), the password never
// reaches the command's stdin, and a wrong password never eats the
// command's input as more attempts. sudo's env_reset keeps the variable out
// of the command's environment.
type Become struct {
	Inner    hostexec.Host
	User     string // default root
	Password []byte // nil: sudo must not ask (-n)
}

// Name returns the inner host's name.
func (b *Become) Name() string { return b.Inner.Name() }

// Run wraps cmd in sudo.
func (b *Become) Run(ctx context.Context, cmd hostexec.Cmd) (hostexec.CmdResult, error) {
	user := b.User
	if user == "" {
		user = "root"
	}
	cmd.Script = hostexec.BecomeScript(user, b.Password != nil, cmd.Script)
	if b.Password != nil {
		stdin := make([]byte, 0, len(b.Password)+1+len(cmd.Stdin))
		stdin = append(append(append(stdin, b.Password...), '\n'), cmd.Stdin...)
		cmd.Stdin, cmd.Secret = stdin, true
	}
	r, err := b.Inner.Run(ctx, cmd)
	if err == nil && r.RC == 1 && strings.Contains(r.Stderr, "sudo: ") &&
		(strings.Contains(r.Stderr, "password is required") || strings.Contains(r.Stderr, "incorrect password") ||
			strings.Contains(r.Stderr, "no askpass program")) {
		r.Stderr = "become failed: " + strings.TrimSpace(r.Stderr) + " (use -K to give the become password)"
	}
	return r, err
}

// DialUnix passes socket access through to the inner connection (become
// changes who runs commands, not where sockets are).
func (b *Become) DialUnix(path string) (net.Conn, error) {
	return hostexec.Forward{Inner: b.Inner}.DialUnix(path)
}

// DialTCP passes TCP forwarding through to the inner connection.
func (b *Become) DialTCP(addr string) (net.Conn, error) {
	return hostexec.Forward{Inner: b.Inner}.DialTCP(addr)
}

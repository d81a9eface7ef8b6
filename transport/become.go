package transport

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// Become runs commands as another user through sudo. The password, when
// there is one, goes first on sudo's stdin (-S), never in arguments; sudo
// reads it byte by byte, so the rest of stdin reaches the command.
type Become struct {
	Inner    modules.Host
	User     string // default root
	Password []byte // nil: sudo must not ask (-n)
}

// Name returns the inner host's name.
func (b *Become) Name() string { return b.Inner.Name() }

// Run wraps cmd in sudo.
func (b *Become) Run(ctx context.Context, cmd modules.Cmd) (modules.CmdResult, error) {
	user := b.User
	if user == "" {
		user = "root"
	}
	cmd.Script = BecomeScript(user, b.Password != nil, cmd.Script)
	if b.Password != nil {
		stdin := make([]byte, 0, len(b.Password)+1+len(cmd.Stdin))
		stdin = append(append(append(stdin, b.Password...), '\n'), cmd.Stdin...)
		cmd.Stdin, cmd.Secret = stdin, true
	}
	r, err := b.Inner.Run(ctx, cmd)
	if err == nil && r.RC == 1 && strings.Contains(r.Stderr, "sudo: ") &&
		(strings.Contains(r.Stderr, "password is required") || strings.Contains(r.Stderr, "incorrect password")) {
		r.Stderr = "become failed: " + strings.TrimSpace(r.Stderr) + " (use -K to give the become password)"
	}
	return r, err
}

// BecomeScript is the sudo command line for running script as user. When
// sudo is not needed (already that user) the shell skips it.
func BecomeScript(user string, withPassword bool, script string) string {
	flag := "-n"
	if withPassword {
		flag = "-S -p ''"
	}
	inner := modules.Quote(script)
	return `if [ "$(id -un)" = ` + modules.Quote(user) + ` ]; then ` +
		(func() string {
			if withPassword {
				return "IFS= read -r _rb_pw; "
			}
			return ""
		})() + `exec /bin/sh -c ` + inner + `; fi; exec sudo ` + flag + ` -H -u ` + modules.Quote(user) + ` -- /bin/sh -c ` + inner
}

// DialUnix passes socket access through to the inner connection (become
// changes who runs commands, not where sockets are).
func (b *Become) DialUnix(path string) (net.Conn, error) {
	d, ok := b.Inner.(interface {
		DialUnix(string) (net.Conn, error)
	})
	if !ok {
		return nil, errors.New(b.Name() + ": this connection cannot reach a unix socket")
	}
	return d.DialUnix(path)
}

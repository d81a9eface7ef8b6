package transport

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/runbook-lab/runbook/modules"
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
	Inner    modules.Host
	User     string // default root
	Password []byte // nil: sudo must not ask (-n)
}

// becomeVar is the environment variable that carries the password from the
// wrapper shell to sudo's askpass program.
const becomeVar = "RUNBOOK_BECOME_PASS"

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
		(strings.Contains(r.Stderr, "password is required") || strings.Contains(r.Stderr, "incorrect password") ||
			strings.Contains(r.Stderr, "no askpass program")) {
		r.Stderr = "become failed: " + strings.TrimSpace(r.Stderr) + " (use -K to give the become password)"
	}
	return r, err
}

// BecomeScript is the sudo command line for running script as user. When
// sudo is not needed (already that user) the shell skips it. withPassword
// means the first stdin line is the password (see Become); it is consumed
// by the shell in both branches, so the command's own stdin follows intact.
//
// The command runs in a process group of its own (setsid when available),
// and a signal to the wrapper is passed on to that whole group, so Ctrl-C
// stops the command's children too, not only sudo.
func BecomeScript(user string, withPassword bool, script string) string {
	inner := modules.Quote(script)
	sudo := "sudo -n"
	read := ""
	if withPassword {
		read = "IFS= read -r " + becomeVar + "; export " + becomeVar + "; SUDO_ASKPASS=$(command -v printenv); export SUDO_ASKPASS; "
		sudo = "sudo -A -p " + becomeVar
	}
	return read + `if [ "$(id -un)" = ` + modules.Quote(user) + ` ]; then unset ` + becomeVar + `; exec /bin/sh -c ` + inner + `; fi; exec ` +
		sudo + ` -H -u ` + modules.Quote(user) + ` -- /bin/sh -c ` + modules.Quote(groupWrapper) + ` runbook ` + inner
}

// groupWrapper runs "$1" in a session and process group of its own and
// passes TERM/HUP/INT on to the whole group. Under sudo the command runs as
// another user, so neither sshd nor the login user may signal its children;
// sudo relays a signal to its direct child only, and this shell turns it
// into one for the whole tree. stdin is handed over explicitly because a
// background job's stdin is /dev/null.
const groupWrapper = `exec 3<&0; s=$(command -v setsid); $s /bin/sh -c "$1" 0<&3 3<&- & p=$!; exec 0<&- 3<&-; ` +
	`trap 'kill -TERM -$p 2>/dev/null || kill -TERM $p 2>/dev/null' TERM HUP INT; ` +
	`while :; do wait $p; rc=$?; kill -0 $p 2>/dev/null || exit $rc; done`

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

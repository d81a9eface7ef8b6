package transport

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/runbook-lab/runbook/hostexec"
)

// shell is one long-lived /bin/sh on the host that runs commands one after
// another: a command then costs a fork and an exec on the host instead of
// a new SSH session (a channel's round trips and sshd's per-session child),
// which is what lets a run go faster than one session per command.
//
// Each command still runs as its own `/bin/sh -c SCRIPT` child with its
// own stdin (/dev/null when it has none, as a session with no input), so
// nothing it sets (variables, cwd, traps, umask) reaches the next. Secret
// stdin, commands that arrive while the shell is busy, and hosts without
// base64 for stdin take a session of their own as before. The shell
// learns where a command's output ends from
// markers carrying a random per-command nonce:
//
//	stderr: NONCE\n  <the command's stderr>  \nNONCE\n
//	stdout:          <the command's stdout>  \nNONCE RC\n
//
// The marker's leading newline is always added by the shell, so output
// that does not end in a newline comes back byte for byte.
type shell struct {
	busy   sync.Mutex
	sess   *ssh.Session
	in     io.WriteCloser
	out    *markerReader
	errs   *markerReader
	pid    string // the shell's process id on the host, whose children a cancel signals
	base64 bool   // the host has base64, which carries a command's stdin
	client *ssh.Client
	dead   chan struct{} // closed when the session has ended
}

// ended says whether the shell's session is over (connection lost while
// idle, the shell gone).
func (sh *shell) ended() bool {
	select {
	case <-sh.dead:
		return true
	default:
		return false
	}
}

// startShell opens the session and starts the shell on it.
func startShell(client *ssh.Client) (*shell, error) {
	sess, err := client.NewSession()
	if err != nil {
		return nil, err // the connection, not the host's shell
	}
	in, err := sess.StdinPipe()
	if err != nil {
		sess.Close()
		return nil, err
	}
	out, err := sess.StdoutPipe()
	if err != nil {
		sess.Close()
		return nil, err
	}
	errs, err := sess.StderrPipe()
	if err != nil {
		sess.Close()
		return nil, err
	}
	// the commands' stderr is fd 3; the shell's own (a "Killed" after a
	// command died of a signal) is dropped, as no session prints it
	// (started through sh -c, as every command is: the login shell may not
	// be a POSIX one)
	if err := sess.Start("exec /bin/sh -c 'exec /bin/sh 3>&2 2>/dev/null'"); err != nil {
		sess.Close()
		return nil, fmt.Errorf("%w: %v", errNoShell, err)
	}
	sh := &shell{sess: sess, in: in, out: &markerReader{r: out}, errs: &markerReader{r: errs}, client: client, dead: make(chan struct{})}
	go func() { sess.Wait(); close(sh.dead) }()
	// the first line is the shell's pid: a command that cannot print it
	// means the host's /bin/sh is not one we can drive
	nonce := newNonce()
	// (and whether base64 is there to carry a command's stdin)
	if _, err := fmt.Fprintf(in, "printf '%%s %%s %%s\\n' %s \"$$\" \"$(command -v base64 >/dev/null 2>&1 && echo 1 || echo 0)\"\n", nonce); err != nil {
		sh.close()
		return nil, err
	}
	if _, err := sh.out.until([]byte(nonce + " ")); err != nil {
		sh.close()
		return nil, fmt.Errorf("%w: %v", errNoShell, err)
	}
	answer, err := sh.out.until([]byte("\n"))
	pid, b64, _ := strings.Cut(string(answer), " ")
	if err != nil || !isDigits(pid) {
		sh.close()
		return nil, errNoShell
	}
	sh.pid, sh.base64 = pid, b64 == "1"
	return sh, nil
}

// errNoShell means a session opened but the shell in it did not answer as
// a POSIX shell should.
var errNoShell = errors.New("the host's /bin/sh did not answer as a POSIX shell")

// errNotStarted means the command never reached the host's shell (its
// session had ended, or the command could not be sent whole): running it
// on a session of its own is safe. Once sent, a command the shell may
// have started is never sent again: a connection lost then is reported
// as lost during the command, as with a session of its own.
var errNotStarted = errors.New("the persistent shell had ended before the command started")

// run runs one command; the caller holds busy.
func (sh *shell) run(ctx context.Context, script string, stdin []byte) (hostexec.CmdResult, error) {
	nonce := newNonce()
	line := commandLine(nonce, script, stdin)
	if sh.ended() {
		return hostexec.CmdResult{}, errNotStarted
	}
	if _, err := io.WriteString(sh.in, line); err != nil {
		return hostexec.CmdResult{}, errNotStarted
	}
	type part struct {
		b   []byte
		err error
	}
	outc, errc := make(chan part, 1), make(chan part, 1)
	go func() {
		b, err := sh.out.until([]byte("\n" + nonce + " "))
		if err == nil {
			var rc []byte
			rc, err = sh.out.until([]byte("\n"))
			b = append(b, 0)
			b = append(b, rc...)
		}
		outc <- part{b, err}
	}()
	go func() {
		if _, err := sh.errs.until([]byte(nonce + "\n")); err != nil {
			errc <- part{nil, err}
			return
		}
		b, err := sh.errs.until([]byte("\n" + nonce + "\n"))
		errc <- part{b, err}
	}()
	var out, errs part
	var gotOut, gotErr bool
	for !gotOut || !gotErr {
		select {
		case out = <-outc:
			gotOut = true
		case errs = <-errc:
			gotErr = true
		case <-ctx.Done():
			sh.cancel()
			return hostexec.CmdResult{RC: -1}, ctx.Err()
		}
	}
	if out.err != nil || errs.err != nil {
		return hostexec.CmdResult{}, errors.New("connection lost during command")
	}
	i := bytes.LastIndexByte(out.b, 0)
	rc, err := strconv.Atoi(string(out.b[i+1:]))
	if err != nil {
		return hostexec.CmdResult{}, fmt.Errorf("the persistent shell gave no exit status (%q)", out.b[i+1:])
	}
	return hostexec.CmdResult{RC: rc, Stdout: string(out.b[:i]), Stderr: string(errs.b)}, nil
}

// commandLine is what the shell is sent for one command.
func commandLine(nonce, script string, stdin []byte) string {
	// the subshell sets the command's fds up itself and execs: redirections
	// on a command are made in the waiting shell, whose stderr must stay
	// /dev/null for the "Killed" it prints when a command dies of a signal
	command := "(exec </dev/null 2>&3 3>&-; exec /bin/sh -c " + hostexec.QuoteAlways(script) + ")"
	if stdin != nil {
		// stdin travels as base64 in a here-document (text, whatever the
		// bytes; "_" ends it and is no base64 character), decoded into a
		// pipe to the command
		end := "RB_END_" + nonce
		command = "(exec 2>&3 3>&-; base64 -d <<'" + end + "' | exec /bin/sh -c " + hostexec.QuoteAlways(script) + "\n" +
			wrap(base64.StdEncoding.EncodeToString(stdin), 76) + end + "\n)"
	}
	// in braces: a line cut short (the connection lost while sending) is
	// an unclosed group, which the shell refuses at end of input instead
	// of running the part it got
	return "{ printf '%s\\n' " + nonce + " >&3; " + command +
		"; r=$?; printf '\\n%s\\n' " + nonce + " >&3; printf '\\n%s %s\\n' " + nonce + " \"$r\"; }\n"
}

// cancel stops the running command, then ends this shell (what the
// command left in the streams could not be told from the next one's
// output). SIGTERM goes to the shell's children (the command) and theirs
// (what the command runs), never to the shell's process group: a process
// an earlier command started in the background is in that group and must
// live on, as it would after a session of its own. A command under become
// is sudo, which passes the signal to its wrapper, which stops the group
// it made.
func (sh *shell) cancel() {
	if s, err := sh.client.NewSession(); err == nil {
		_ = s.Run("for p in $(pgrep -P " + sh.pid + " 2>/dev/null || ps -o pid= --ppid " + sh.pid + "); do " +
			"pkill -TERM -P $p 2>/dev/null; kill -TERM $p 2>/dev/null; done")
		s.Close()
	}
	sh.close()
}

func (sh *shell) close() {
	sh.in.Close()
	_ = sh.sess.Signal(ssh.SIGTERM)
	sh.sess.Close()
}

// markerReader reads a stream up to markers, keeping what it read past
// one for the next call.
type markerReader struct {
	r    io.Reader
	buf  []byte
	read [4 << 10]byte // small: a fleet holds two per host
}

// until returns the bytes before the next marker and consumes the marker.
func (m *markerReader) until(marker []byte) ([]byte, error) {
	from := 0
	for {
		if i := bytes.Index(m.buf[from:], marker); i >= 0 {
			i += from
			got := bytes.Clone(m.buf[:i])
			m.buf = append(m.buf[:0], m.buf[i+len(marker):]...)
			return got, nil
		}
		from = max(0, len(m.buf)-len(marker)+1)
		n, err := m.r.Read(m.read[:])
		m.buf = append(m.buf, m.read[:n]...)
		if err != nil && n == 0 {
			return nil, err
		}
	}
}

// wrap breaks s into lines of at most n bytes, each ending in a newline.
func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n])
		b.WriteByte('\n')
		s = s[n:]
	}
	if s != "" {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	return b.String()
}

func newNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "rb" + hex.EncodeToString(b)
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// runInShell runs a command in the host's persistent shell when it can;
// ok false means the caller runs it on a session of its own (a command
// with stdin, the shell busy with another command, or no shell to be had).
func (s *SSH) runInShell(ctx context.Context, cmd hostexec.Cmd) (res hostexec.CmdResult, ok bool, err error) {
	// a secret (a become password, a module's arguments) never goes
	// through the shell's here-document, which some shells keep in a file
	if s.cfg.PerCommandSessions || cmd.Secret || strings.ContainsRune(cmd.Script, 0) {
		return res, false, nil
	}
	sh := s.idleShell()
	if sh == nil {
		return res, false, nil
	}
	defer sh.busy.Unlock()
	if cmd.Stdin != nil && !sh.base64 {
		return res, false, nil
	}
	res, err = sh.run(ctx, cmd.Script, cmd.Stdin)
	switch {
	case err == nil:
		return res, true, nil
	case errors.Is(err, errNotStarted):
		s.dropShell(sh)
		return res, false, nil
	case ctx.Err() != nil:
		s.dropShell(sh)
		return res, true, err
	default:
		sh.close()
		s.dropShell(sh)
		return res, true, &UnreachableError{Host: s.cfg.Name, Err: err}
	}
}

// idleShell is the host's shell, started on first use and locked for the
// caller; nil when it is busy or cannot be had.
func (s *SSH) idleShell() *shell {
	s.shellMu.Lock()
	defer s.shellMu.Unlock()
	if s.noShell {
		return nil
	}
	if s.sh != nil && s.sh.ended() && s.sh.busy.TryLock() {
		s.sh.close()
		s.sh = nil
	}
	if s.sh == nil {
		client := s.current()
		sh, err := startShell(client)
		if err != nil {
			// a host whose shell cannot be driven keeps a session per
			// command (a lost connection is redialled by that path; a
			// second refusal means the host, not the connection)
			if errors.Is(err, errNoShell) {
				s.shellFails++
				s.noShell = s.shellFails >= 2
			}
			return nil
		}
		s.sh = sh
	}
	if !s.sh.busy.TryLock() {
		return nil
	}
	return s.sh
}

// dropShell forgets a shell that ended, so the next command starts another.
func (s *SSH) dropShell(sh *shell) {
	s.shellMu.Lock()
	defer s.shellMu.Unlock()
	if s.sh == sh {
		s.sh = nil
	}
}

package transport_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbook-lab/runbook/hostexec"
	"github.com/runbook-lab/runbook/internal/testrig/sshtest"
	"github.com/runbook-lab/runbook/transport"
)

func dialTest(t *testing.T, perCommand bool) *transport.SSH {
	t.Helper()
	srv := sshtest.Start(t, 1)
	h, err := transport.DialSSH(context.Background(), transport.SSHConfig{Name: "h", Addr: srv.Addrs[0], Port: srv.Port,
		User: srv.User, KeyFiles: []string{srv.KeyFile}, KnownHosts: srv.KnownHosts, PerCommandSessions: perCommand})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// The persistent shell gives every command what a session of its own
// gives: the same bytes on stdout and stderr (no trailing newline added,
// text that looks like a marker kept), the exit code, and nothing a
// previous command set. Held against the per-command path on the same
// sshd, command by command.
func TestPersistentShellMatchesSessionPerCommand(t *testing.T) {
	cmds := []hostexec.Cmd{
		{Script: "printf 'no newline'"},
		{Script: "echo out; echo err >&2; exit 3"},
		{Script: "printf '\\nrb00 0\\n'; printf '\\nrb00\\n' >&2"},
		{Script: "printf 'a\\000b\\377'"},
		{Script: "cd /; export RB_LEAK=1; umask 077; trap 'echo trapped' EXIT; ulimit -n 64 2>/dev/null; pwd"},
		{Script: "pwd; echo \"leak=${RB_LEAK-unset}\"; umask; ulimit -n; echo $0"},
		{Script: "cat; echo \"stdin done\""},
		{Script: "cat", Stdin: []byte("given\nstdin")},
		{Script: "od -An -c", Stdin: []byte("a\x00b\xff\nRB_END_x\n'\"$(id)")},
		{Script: "wc -c; cat >/dev/null", Stdin: bytes.Repeat([]byte("0123456789abcdef"), 1<<16)},
		{Script: "read a; echo \"[$a]\"; cat", Stdin: []byte{}},
		{Script: "syntax error ( here"},
		{Script: "kill -9 $$"},
		{Script: "seq 1 50000"},
		{Script: "exec 1>&-; echo still >&2"},
	}
	want := dialTest(t, true)
	got := dialTest(t, false)
	for _, c := range cmds {
		w, werr := want.Run(context.Background(), c)
		g, gerr := got.Run(context.Background(), c)
		if (werr == nil) != (gerr == nil) || w.RC != g.RC || w.Stdout != g.Stdout || w.Stderr != g.Stderr {
			t.Errorf("%q:\n per command: rc %d out %q err %q (%v)\n persistent:  rc %d out %q err %q (%v)",
				c.Script, w.RC, trim(w.Stdout), w.Stderr, werr, g.RC, trim(g.Stdout), g.Stderr, gerr)
		}
	}
}

func trim(s string) string {
	if len(s) > 80 {
		return s[:40] + "..." + s[len(s)-40:]
	}
	return s
}

// Commands run at once on one host all get their own answers (one uses
// the shell, the others sessions of their own).
func TestPersistentShellConcurrentCommands(t *testing.T) {
	h := dialTest(t, false)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := h.Run(context.Background(), hostexec.Cmd{Script: fmt.Sprintf("sleep 0.0%d; echo %d; echo e%d >&2; exit %d", i%10, i, i, i)})
			if err != nil || res.Stdout != fmt.Sprintf("%d\n", i) || res.Stderr != fmt.Sprintf("e%d\n", i) || res.RC != i {
				t.Errorf("command %d: rc %d out %q err %q (%v)", i, res.RC, res.Stdout, res.Stderr, err)
			}
		}()
	}
	wg.Wait()
}

// A cancelled command (a timeout, Ctrl-C) returns at once, its processes
// are stopped, and the next command runs normally.
func TestPersistentShellCancel(t *testing.T) {
	h := dialTest(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := h.Run(ctx, hostexec.Cmd{Script: "sleep 31337 & sleep 31338; echo never"})
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("cancelled command: %v after %v", err, time.Since(start))
	}
	waitGone(t, h, "3133[78]")
}

// sleeps counts the host's sleep processes whose argument matches pattern.
func sleeps(t *testing.T, h *transport.SSH, pattern string) string {
	t.Helper()
	res, err := h.Run(context.Background(), hostexec.Cmd{Script: "ps -eo args | grep -c '^sleep " + pattern + "' || true"})
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(res.Stdout)
}

// waitGone waits up to 5 s for those sleep processes to end.
func waitGone(t *testing.T, h *transport.SSH, pattern string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for n := sleeps(t, h, pattern); n != "0"; n = sleeps(t, h, pattern) {
		if time.Now().After(deadline) {
			t.Fatalf("the cancelled command's processes still run: %s", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Which commands the persistent shell runs: those without stdin and those
// with stdin that is not secret; a secret (a become password) always
// takes a session of its own, where it never passes through a
// here-document. The command's parent tells: sshd, or the shell.
func TestPersistentShellCarriesNoSecrets(t *testing.T) {
	h := dialTest(t, false)
	parent := "ps -o comm= -p $PPID; cat >/dev/null"
	for _, c := range []struct {
		cmd  hostexec.Cmd
		want string
	}{
		{hostexec.Cmd{Script: parent}, "sh"},
		{hostexec.Cmd{Script: parent, Stdin: []byte("data")}, "sh"},
		{hostexec.Cmd{Script: parent, Stdin: []byte("hunter2"), Secret: true}, "sshd"},
	} {
		res, err := h.Run(context.Background(), c.cmd)
		// (OpenSSH 9.8 names its session process sshd-session)
		if got := strings.TrimSpace(res.Stdout); err != nil || got != c.want && !(c.want == "sshd" && strings.HasPrefix(got, "sshd")) {
			t.Errorf("stdin %q secret %v: parent %q (%v), want %s", c.cmd.Stdin, c.cmd.Secret, res.Stdout, err, c.want)
		}
	}
}

// A connection lost while idle takes its shell with it: the next command
// runs on a new connection, and the shell after it is a new one there
// (lost connections, however many, never turn the shell off).
func TestPersistentShellAfterLostConnections(t *testing.T) {
	h := dialTest(t, false)
	parent := hostexec.Cmd{Script: "ps -o comm= -p $PPID"}
	for i := range 3 {
		transport.LoseConnection(h)
		if res, err := h.Run(context.Background(), hostexec.Cmd{Script: "echo again"}); err != nil || res.Stdout != "again\n" {
			t.Fatalf("loss %d: %q, %v", i, res.Stdout, err)
		}
		if res, err := h.Run(context.Background(), parent); err != nil || strings.TrimSpace(res.Stdout) != "sh" {
			t.Fatalf("loss %d: the next command's parent is %q (%v), not the shell", i, res.Stdout, err)
		}
	}
}

// A cancel stops the running command and what it runs, and nothing an
// earlier command left running in the background (a daemon it started).
func TestPersistentShellCancelSparesEarlierDaemons(t *testing.T) {
	h := dialTest(t, false)
	if _, err := h.Run(context.Background(), hostexec.Cmd{Script: "nohup sleep 31339 >/dev/null 2>&1 &"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := h.Run(ctx, hostexec.Cmd{Script: "sleep 31340"}); err == nil {
		t.Fatal("a cancelled command reported success")
	}
	waitGone(t, h, "31340")
	if n := sleeps(t, h, "31339"); n != "1" {
		t.Errorf("the earlier command's daemon: %s running, want 1", n)
	}
	h.Run(context.Background(), hostexec.Cmd{Script: "pkill -f '^sleep 31339' || true"})
}

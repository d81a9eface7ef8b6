// Package transport moves commands and bytes to hosts: locally with os/exec,
// over one persistent SSH connection per host, and through sudo for become.
// Each implements hostexec.Host.
package transport

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os/exec"
	"syscall"
	"time"

	"github.com/runbook-lab/runbook/hostexec"
)

// Local runs commands on this machine.
type Local struct{ HostName string }

// Name returns the inventory name of the host.
func (l *Local) Name() string { return l.HostName }

// Run runs cmd.Script under /bin/sh in its own process group, so that a
// cancelled context stops the whole command, not only the shell.
func (l *Local) Run(ctx context.Context, cmd hostexec.Cmd) (hostexec.CmdResult, error) {
	c := exec.Command("/bin/sh", "-c", cmd.Script)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if cmd.Stdin != nil {
		c.Stdin = bytes.NewReader(cmd.Stdin)
	}
	if err := c.Start(); err != nil {
		return hostexec.CmdResult{}, err
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			<-done
		}
		return hostexec.CmdResult{RC: -1, Stdout: out.String(), Stderr: errb.String()}, ctx.Err()
	}
	res := hostexec.CmdResult{Stdout: out.String(), Stderr: errb.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		res.RC = exit.ExitCode()
		return res, nil
	}
	return res, err
}

// IsLocal tells modules they can use this machine's files directly.
func (l *Local) IsLocal() bool { return true }

// Close does nothing; it is there to satisfy Conn.
func (l *Local) Close() error { return nil }

// Conn is a host connection that can be closed at the end of a run.
type Conn interface {
	hostexec.Host
	Close() error
}

var _ Conn = (*Local)(nil)

// DialUnix opens a unix socket on this machine (libvirtd's).
func (l *Local) DialUnix(path string) (net.Conn, error) { return net.Dial("unix", path) }

// DialTCP opens a TCP connection from this machine.
func (l *Local) DialTCP(addr string) (net.Conn, error) {
	return net.DialTimeout("tcp", addr, 10*time.Second)
}

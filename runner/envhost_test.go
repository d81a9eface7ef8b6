package runner

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/runbook-lab/runbook/hostexec"
	"github.com/runbook-lab/runbook/modules"
)

// dialingHost is a host that can reach sockets and forward TCP.
type dialingHost struct{ dialled []string }

func (d *dialingHost) Name() string { return "h" }
func (d *dialingHost) Run(context.Context, modules.Cmd) (modules.CmdResult, error) {
	return modules.CmdResult{}, nil
}
func (d *dialingHost) DialUnix(p string) (net.Conn, error) {
	d.dialled = append(d.dialled, "unix:"+p)
	return nil, errors.New("dialled")
}
func (d *dialingHost) DialTCP(a string) (net.Conn, error) {
	d.dialled = append(d.dialled, "tcp:"+a)
	return nil, errors.New("dialled")
}
func (d *dialingHost) IsLocal() bool { return true }

// A task's environment: keeps what the host can do besides commands (a
// task with environment: on virsh_net or pg_probe failed with "this
// connection cannot reach a unix socket").
func TestEnvironmentKeepsHostAbilities(t *testing.T) {
	inner := &dialingHost{}
	h := withEnv(inner, map[string]string{"A": "1"})
	u, ok := h.(hostexec.SocketDialer)
	if !ok {
		t.Fatal("environment: hid DialUnix")
	}
	u.DialUnix("/run/libvirt/sock")
	h.(hostexec.TCPDialer).DialTCP("10.0.0.1:9999")
	if l, ok := h.(interface{ IsLocal() bool }); !ok || !l.IsLocal() {
		t.Error("environment: hid IsLocal")
	}
	if len(inner.dialled) != 2 || inner.dialled[0] != "unix:/run/libvirt/sock" || inner.dialled[1] != "tcp:10.0.0.1:9999" {
		t.Errorf("dialled %v", inner.dialled)
	}
}

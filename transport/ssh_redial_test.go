package transport_test

import (
	"context"
	"net"
	"strconv"
	"testing"

	"github.com/runbook-lab/runbook/hostexec"
	"github.com/runbook-lab/runbook/internal/testrig/sshtest"
	"github.com/runbook-lab/runbook/transport"
)

// A connection lost while idle (closed by the keepalive on a host that was
// busy for a while) is dialled again for the next command, as Ansible's
// next task connects anew; forwarded connections too.
func TestLostIdleConnectionIsDialledAgain(t *testing.T) {
	srv := sshtest.Start(t, 1)
	h, err := transport.DialSSH(context.Background(), transport.SSHConfig{Name: "h", Addr: srv.Addrs[0], Port: srv.Port,
		User: srv.User, KeyFiles: []string{srv.KeyFile}, KnownHosts: srv.KnownHosts})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	transport.LoseConnection(h)
	res, err := h.Run(context.Background(), hostexec.Cmd{Script: "echo again"})
	if err != nil || res.Stdout != "again\n" {
		t.Fatalf("after a lost connection: %q, %v", res.Stdout, err)
	}
	transport.LoseConnection(h)
	c, err := h.DialTCP(net.JoinHostPort(srv.Addrs[0], strconv.Itoa(srv.Port)))
	if err != nil {
		t.Fatalf("forwarded connection after a lost connection: %v", err)
	}
	c.Close()
}

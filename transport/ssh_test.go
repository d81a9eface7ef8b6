package transport_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/runbook-lab/runbook/internal/testrig/sshtest"
	"github.com/runbook-lab/runbook/transport"
)

// A forwarded connection to a peer that accepts and never answers (a
// frozen database) returns from a blocked read when its deadline passes.
func TestForwardedConnHonoursDeadlines(t *testing.T) {
	srv := sshtest.Start(t, 1)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accepted, never answered
		}
	}()
	h, err := transport.DialSSH(context.Background(), transport.SSHConfig{Name: "h", Addr: srv.Addrs[0], Port: srv.Port,
		User: srv.User, KeyFiles: []string{srv.KeyFile}, KnownHosts: srv.KnownHosts})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	c, err := h.DialTCP(l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	done := make(chan error, 1)
	go func() { _, err := c.Read(make([]byte, 1)); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("read returned data from a silent peer")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a read past its deadline still blocks")
	}
}

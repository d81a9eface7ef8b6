package hostexec

import (
	"errors"
	"net"
)

// The abilities a Host may have beyond running commands, found by modules
// with a type assertion.
type (
	// SocketDialer reaches a unix socket on the host (libvirt's).
	SocketDialer interface {
		DialUnix(path string) (net.Conn, error)
	}
	// TCPDialer opens a TCP connection from the host to an address, as an
	// application there would (the drills' probe reaches pgpool so).
	TCPDialer interface {
		DialTCP(addr string) (net.Conn, error)
	}
)

// Forward is embedded by a Host that wraps another (a task's environment:,
// --explain; become forwards only the dialers) so that the wrapper keeps
// the inner host's abilities instead of hiding them from the modules.
type Forward struct{ Inner Host }

// DialUnix reaches a unix socket through the inner host.
func (f Forward) DialUnix(path string) (net.Conn, error) {
	if d, ok := f.Inner.(SocketDialer); ok {
		return d.DialUnix(path)
	}
	return nil, errors.New(f.Inner.Name() + ": this connection cannot reach a unix socket")
}

// IsLocal says whether the inner host is this machine (a wrapper that
// changes who writes files, become, must not embed this).
func (f Forward) IsLocal() bool {
	l, ok := f.Inner.(interface{ IsLocal() bool })
	return ok && l.IsLocal()
}

// DialTCP forwards a TCP connection through the inner host.
func (f Forward) DialTCP(addr string) (net.Conn, error) {
	if d, ok := f.Inner.(TCPDialer); ok {
		return d.DialTCP(addr)
	}
	return nil, errors.New(f.Inner.Name() + ": this connection cannot forward TCP")
}

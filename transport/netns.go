package transport

import (
	"context"
	"fmt"
	"net"
	"os"
	"regexp"
	"runtime"

	"golang.org/x/sys/unix"
)

// ValidNetNS checks a network namespace name: a bare name under
// /run/netns, as `ip netns` makes them, never a path out of it.
func ValidNetNS(ns string) error {
	if !netnsName.MatchString(ns) || ns == "." || ns == ".." {
		return fmt.Errorf("network namespace %q: expected a name as `ip netns list` shows (letters, digits, . _ -)", ns)
	}
	return nil
}

var netnsName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// DialIn dials addr from inside network namespace ns.
func DialIn(ctx context.Context, ns, network, addr string) (net.Conn, error) {
	if err := ValidNetNS(ns); err != nil {
		return nil, err
	}
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		// the thread is left in the lab namespace if switching back fails,
		// so it is never unlocked (Go then discards it)
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			ch <- result{nil, err}
			return
		}
		defer orig.Close()
		target, err := os.Open("/run/netns/" + ns)
		if err != nil {
			ch <- result{nil, err}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{nil, err}
			return
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

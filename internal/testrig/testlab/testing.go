package testlab

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/runbook-lab/runbook/internal/testrig/testenv"
)

var shared struct {
	once sync.Once
	lab  *Lab
	err  error
	// broken: a test that used the lab failed, so the cluster on it may
	// be in any state; the next test gets fresh hosts, not that wreck
	broken bool
}

// Hosts returns the shared lab of this test process, started on first use
// with n hosts (at least 4, named postgres1..3 and postgres-client). Call
// Shutdown from TestMain. Where the lab cannot be built (not root, no
// namespaces, -short) the test is skipped with the reason; under CI
// (CI set) that is a failure instead.
func Hosts(t testing.TB, n int) *Lab {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping lab test in -short mode")
	}
	if os.Geteuid() != 0 {
		testenv.SkipOrFail(t, "the test lab needs root (namespaces, mounts, nspawn)")
	}
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		testenv.SkipOrFail(t, "no network namespaces here")
	}
	shared.once.Do(func() {
		shared.lab, shared.err = Up(context.Background(), DefaultNames(max(n, 4)))
	})
	if shared.broken && shared.err == nil {
		t.Logf("a test before this one failed on the shared lab: building fresh hosts")
		Down()
		shared.lab, shared.err = Up(context.Background(), DefaultNames(max(n, 4, len(shared.lab.Hosts))))
		shared.broken = false
	}
	t.Cleanup(func() {
		if t.Failed() {
			shared.broken = true
		}
	})
	if shared.err != nil {
		testenv.SkipOrFail(t, "the lab could not be built: %v", shared.err)
	}
	if len(shared.lab.Hosts) < n {
		t.Fatalf("the shared lab has %d hosts, %d asked", len(shared.lab.Hosts), n)
	}
	return shared.lab
}

// WasUp reports whether this process brought the shared lab up.
func WasUp() bool { return shared.lab != nil }

// Shutdown tears the shared lab down (from TestMain).
func Shutdown() {
	if shared.lab != nil {
		Down()
	}
}

// Libvirtd returns the shared lab with libvirtd running in its namespace.
func Libvirtd(t testing.TB) *Lab {
	t.Helper()
	lab := Hosts(t, 4)
	if err := lab.StartLibvirtd(context.Background()); err != nil {
		testenv.SkipOrFail(t, "libvirtd: %v", err)
	}
	return lab
}

package testlab_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/internal/testlab"
)

// This file sorts last, so teardown is checked after the other lab tests.

// Teardown leaves nothing: no namespace, mount or process of the lab.
func TestLabTeardownLeavesNothing(t *testing.T) {
	testlab.Hosts(t, 4)
	if err := testlab.Down(); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("ip", "netns", "list").Output()
	if strings.Contains(string(out), "rblab") {
		t.Errorf("namespaces left: %s", out)
	}
	mounts, _ := os.ReadFile("/proc/mounts")
	if strings.Contains(string(mounts), "runbook-testlab") {
		t.Errorf("mounts left")
	}
	if b, _ := exec.Command("pgrep", "-x", "libvirtd").Output(); len(b) > 0 {
		t.Errorf("libvirtd left running: %s", b)
	}
	if b, _ := exec.Command("pgrep", "-f", "systemd-nspawn -D /var/lib/runbook-testlab").Output(); len(b) > 0 {
		t.Errorf("nspawn processes left: %s", b)
	}
	links, _ := exec.Command("ip", "link").Output()
	if strings.Contains(string(links), "rbv") || strings.Contains(string(links), "br0") {
		t.Errorf("links left in the root namespace: %s", links)
	}
}

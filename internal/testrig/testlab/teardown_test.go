package testlab_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// leftovers lists what the lab left after its teardown: namespaces,
// mounts, processes, links. TestMain checks it once every test has run
// (teardown is the last thing that happens, whatever the tests' order).
func leftovers() []string {
	var left []string
	errorf := func(format string, args ...any) { left = append(left, fmt.Sprintf(format, args...)) }
	out, _ := exec.Command("ip", "netns", "list").Output()
	if strings.Contains(string(out), "rblab") {
		errorf("namespaces left: %s", out)
	}
	mounts, _ := os.ReadFile("/proc/mounts")
	if strings.Contains(string(mounts), "runbook-testlab") {
		errorf("mounts left")
	}
	if b, _ := exec.Command("pgrep", "-x", "libvirtd").Output(); len(b) > 0 {
		errorf("libvirtd left running: %s", b)
	}
	if b, _ := exec.Command("pgrep", "-f", "systemd-nspawn -D /var/lib/runbook-testlab").Output(); len(b) > 0 {
		errorf("nspawn processes left: %s", b)
	}
	links, _ := exec.Command("ip", "link").Output()
	if strings.Contains(string(links), "rbv") || strings.Contains(string(links), "br0") {
		errorf("links left in the root namespace: %s", links)
	}
	return left
}

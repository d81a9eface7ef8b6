package pg_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/transport"
)

// env runs a module on this machine, as the runner would with --diff.
func env(t *testing.T, check bool) *modules.Env {
	return &modules.Env{Host: &transport.Local{HostName: "localhost"}, Check: check, Diff: true, Vars: map[string]any{"inventory_hostname": "localhost"}}
}

func currentUser(t *testing.T) string {
	out, err := exec.Command("id", "-un").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

package builtin

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "wait_for_connection", Summary: "Wait until the host accepts SSH and runs commands (a VM that is still booting), optionally until cloud-init is done.",
		Example: "wait_for_connection:\n  timeout: 300\n  cloud_init: true", New: func() modules.Module { return &WaitForConnection{Timeout: 600} }})
}

// WaitForConnection waits until the host accepts runbook's connection and
// runs a command (Ansible's wait_for_connection), and, with cloud_init,
// until cloud-init has finished its first boot.
type WaitForConnection struct {
	Timeout   int  `yaml:"timeout" doc:"seconds to keep trying" default:"600"`
	CloudInit bool `yaml:"cloud_init" doc:"also wait for cloud-init to finish (cloud-init status --wait)"`
}

// ConnectTimeout is how long the runner keeps dialling.
func (w *WaitForConnection) ConnectTimeout() time.Duration {
	return time.Duration(w.Timeout) * time.Second
}

// Run checks the host runs commands, and waits for cloud-init.
func (w *WaitForConnection) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	begin := time.Now()
	script := "true"
	if w.CloudInit {
		// The lab's own image marks its seed applied in /run before sshd
		// starts (it runs no cloud-init); cloud-init writes
		// /run/cloud-init/result.json when this boot's
		// stages are over: with no errors in it the host is done, and the
		// login checked here already sees what cloud-init set up. Else ask
		// cloud-init itself (a Python start, seconds under emulation);
		// status 2 is "done with recoverable errors" (degraded), still done
		script = `if [ -e /run/runbook-seed.done ] || grep -qs '"errors": \[\]' /run/cloud-init/result.json; then echo done-before; ` +
			"elif command -v cloud-init >/dev/null; then timeout " + strconv.Itoa(w.Timeout) + " cloud-init status --wait >/dev/null; rc=$?; [ $rc -eq 0 ] || [ $rc -eq 2 ] || { cloud-init status --long; exit $rc; }; fi"
	}
	r, err := env.Host.Run(ctx, modules.Cmd{Script: script})
	if err != nil {
		return nil, err
	}
	if r.RC != 0 {
		return modules.Failf("%s: cloud-init did not finish: %s", env.Host.Name(), strings.TrimSpace(r.Stdout+r.Stderr)), nil
	}
	if w.CloudInit && env.Reconnect != nil && strings.TrimSpace(r.Stdout) != "done-before" {
		// the login this connection made predates what cloud-init set up
		// (locale, groups, keys): later tasks get a new login, as
		// Ansible's wait_for_connection resets its connection
		if _, err := env.Reconnect(ctx, 2*time.Minute); err != nil {
			return nil, err
		}
	}
	return &modules.Result{Data: map[string]any{"elapsed": time.Since(begin).Seconds()}}, nil
}

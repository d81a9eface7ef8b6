package builtin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/runbook-lab/runbook/modules"
)

// Reboot restarts the host and waits until it is back (Ansible's reboot):
// back means a new boot id and the test command passing.
type Reboot struct {
	RebootTimeout   int                `yaml:"reboot_timeout" doc:"seconds to wait for the host to come back" default:"600"`
	PreRebootDelay  int                `yaml:"pre_reboot_delay" doc:"seconds before rebooting"`
	PostRebootDelay int                `yaml:"post_reboot_delay" doc:"seconds to wait after it is back"`
	Msg             string             `yaml:"msg" doc:"message to logged-in users" default:"Reboot initiated by runbook"`
	TestCommand     string             `yaml:"test_command" doc:"a command that passes once the host is usable" default:"whoami"`
	RebootCommand   string             `yaml:"reboot_command" doc:"how to reboot (default: systemctl reboot, else shutdown -r now)"`
	ConnectTimeout  int                `yaml:"connect_timeout" doc:"accepted for Ansible playbooks (runbook's dial timeout applies)"`
	SearchPaths     modules.StringList `yaml:"search_paths" doc:"accepted for Ansible playbooks"`
	BootTimeCommand string             `yaml:"boot_time_command" doc:"prints something that changes at every boot" default:"cat /proc/sys/kernel/random/boot_id"`
}

func init() {
	modules.Register(modules.Info{ID: "reboot", Summary: "Reboot the host and wait until it is back (new boot id, test command passes).",
		Example: "reboot:\n  reboot_timeout: 600", New: func() modules.Module { return &Reboot{} }})
}

// Run reboots, then reconnects until the boot id changed.
func (rb *Reboot) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	res := &modules.Result{Changed: true, Data: map[string]any{"rebooted": true}}
	res.Msg = "would reboot"
	res.Then(func(ctx context.Context) error {
		res.Msg = ""
		if env.Reconnect == nil {
			*res = *modules.Failf("reboot: this connection cannot be re-established (a local host?)")
			return nil
		}
		r, err := modules.RunOK(ctx, env.Host, rb.BootTimeCommand, "boot id")
		if err != nil {
			return err
		}
		before := strings.TrimSpace(r.Stdout)
		cmd := rb.RebootCommand
		if cmd == "" {
			cmd = "systemctl reboot || shutdown -r now " + modules.Quote(rb.Msg)
		}
		begin := time.Now()
		// detached, after a moment, so this command's answer gets back first
		script := fmt.Sprintf("nohup sh -c %s >/dev/null 2>&1 &", modules.Quote(fmt.Sprintf("sleep %d; %s", max(rb.PreRebootDelay, 1), cmd)))
		if _, err := modules.RunOK(ctx, env.Host, script, "reboot"); err != nil {
			return err
		}
		deadline := begin.Add(time.Duration(rb.RebootTimeout) * time.Second)
		for {
			if time.Now().After(deadline) {
				*res = *modules.Failf("reboot: %s did not come back within %d s", env.Host.Name(), rb.RebootTimeout)
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(2 * time.Second):
			}
			h, err := env.Reconnect(ctx, time.Until(deadline))
			if err != nil {
				continue
			}
			r, err := h.Run(ctx, modules.Cmd{Script: rb.BootTimeCommand})
			if err != nil || r.RC != 0 || strings.TrimSpace(r.Stdout) == before {
				continue // not down yet, or still coming up
			}
			if t, err := h.Run(ctx, modules.Cmd{Script: rb.TestCommand}); err != nil || t.RC != 0 {
				continue
			}
			break
		}
		if rb.PostRebootDelay > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(rb.PostRebootDelay) * time.Second):
			}
		}
		res.Data["elapsed"] = int(time.Since(begin).Seconds())
		return nil
	})
	return res, nil
}

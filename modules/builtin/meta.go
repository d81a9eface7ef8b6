package builtin

import (
	"context"
	"fmt"

	"github.com/runbook-lab/runbook/modules"
)

// Meta is Ansible's meta: an instruction to the runner, not to the host.
// The runner acts on the action it returns.
type Meta struct {
	Action string `yaml:"action" doc:"flush_handlers, end_play, end_host, end_batch, clear_facts, clear_host_errors, noop, refresh_inventory, reset_connection"`
}

func init() {
	modules.Register(modules.Info{ID: "meta", Summary: "Tell the runner: flush_handlers (run notified handlers now), end_host, end_play, clear_facts, noop...",
		Example: "meta: flush_handlers", New: func() modules.Module { return &Meta{} }})
}

// FreeFormArg: `meta: flush_handlers`.
func (*Meta) FreeFormArg() string { return "action" }

// ControllerOnly: nothing runs on a host.
func (*Meta) ControllerOnly() {}

// Validate checks the action.
func (m *Meta) Validate() error {
	switch m.Action {
	case "flush_handlers", "end_play", "end_host", "end_batch", "clear_facts", "clear_host_errors", "noop", "refresh_inventory", "reset_connection":
		return nil
	}
	return fmt.Errorf("meta: unknown action %q (flush_handlers, end_play, end_host, end_batch, clear_facts, clear_host_errors, noop, refresh_inventory, reset_connection)", m.Action)
}

// Run hands the action to the runner.
func (m *Meta) Run(context.Context, *modules.Env) (*modules.Result, error) {
	return &modules.Result{Data: map[string]any{"meta": m.Action}}, nil
}

var (
	_ modules.ControllerOnly = (*Meta)(nil)
	_ modules.FreeForm       = (*Meta)(nil)
)

package builtin

import (
	"context"
	"encoding/json"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "fail", Summary: "Fail the host with a message (usually with when).",
		Example: "fail:\n  msg: postgres1 is still primary\nwhen: role == \"primary\"", New: func() modules.Module { return &Fail{Msg: "failed as requested"} }})
}

// Fail fails the host with a message.
type Fail struct {
	// a string, or (as Ansible allows) a list or mapping, shown as JSON
	Msg any `yaml:"msg" doc:"the message: text, or a list or mapping" default:"failed as requested"`
}

// ControllerOnly: fail does not touch the host.
func (*Fail) ControllerOnly() {}

// Run fails.
func (f *Fail) Run(context.Context, *modules.Env) (*modules.Result, error) {
	msg, ok := f.Msg.(string)
	if !ok {
		b, _ := json.Marshal(f.Msg)
		msg = string(b)
	}
	return &modules.Result{Failed: true, Msg: msg}, nil
}

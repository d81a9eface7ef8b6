package builtin

import (
	"context"
	"errors"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "set_fact", Summary: "Set variables on the host for the rest of the run (any names).",
		Example: "set_fact:\n  primary: postgres2", New: func() modules.Module { return &SetFact{} }})
}

// SetFact sets host variables for the rest of the run.
type SetFact struct{ vars map[string]any }

// ControllerOnly: set_fact does not touch the host.
func (*SetFact) ControllerOnly() {}

// SetRaw takes the rendered arguments.
func (s *SetFact) SetRaw(args map[string]any) error {
	delete(args, "cacheable") // Ansible's fact cache switch: runbook keeps facts for the run
	if len(args) == 0 {
		return errors.New("set_fact: give at least one name: value")
	}
	s.vars = args
	return nil
}

// Run sets the facts.
func (s *SetFact) Run(context.Context, *modules.Env) (*modules.Result, error) {
	return &modules.Result{Facts: s.vars, Data: map[string]any{"ansible_facts": s.vars}}, nil
}

var _ modules.RawArgs = (*SetFact)(nil)

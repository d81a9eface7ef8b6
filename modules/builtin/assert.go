package builtin

import (
	"context"
	"errors"
	"fmt"

	"github.com/runbook-lab/runbook/internal/cond"
	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "assert", Summary: "Fail unless every expression is true.",
		Example: "assert:\n  that:\n    - repl.sync_state == \"sync\"\n  fail_msg: postgres2 is not synchronous", New: func() modules.Module { return &Assert{} }})
}

// Assert fails when a condition does not hold.
type Assert struct {
	That       modules.StringList `yaml:"that" doc:"expressions that must all be true"`
	FailMsg    string             `yaml:"fail_msg" doc:"message when one is false"`
	Msg        string             `yaml:"msg" doc:"the same as fail_msg (Ansible's alias)"`
	SuccessMsg string             `yaml:"success_msg" doc:"message when all are true"`
	Quiet      bool               `yaml:"quiet" doc:"print nothing on success"`
}

// ControllerOnly: assert does not touch the host.
func (*Assert) ControllerOnly() {}

// Validate checks the expressions' syntax.
func (a *Assert) Validate() error {
	if len(a.That) == 0 {
		return errors.New("assert: that is required")
	}
	for _, e := range a.That {
		if err := cond.Check(e); err != nil {
			return fmt.Errorf("assert: bad expression %q: %v", e, err)
		}
	}
	return nil
}

// Run evaluates.
func (a *Assert) Run(_ context.Context, env *modules.Env) (*modules.Result, error) {
	for _, e := range a.That {
		ok, err := cond.Eval(e, env.Vars)
		if err != nil {
			return nil, fmt.Errorf("assert %q: %w", e, err)
		}
		if !ok {
			msg := a.FailMsg
			if msg == "" {
				msg = a.Msg
			}
			if msg == "" {
				msg = "assertion failed: " + e
			}
			return &modules.Result{Failed: true, Msg: msg, Data: map[string]any{"assertion": e}}, nil
		}
	}
	msg := a.SuccessMsg
	if msg == "" && !a.Quiet {
		msg = "all assertions passed"
	}
	return &modules.Result{Msg: msg}, nil
}

var _ modules.Validator = (*Assert)(nil)

package builtin

import (
	"context"
	"fmt"
	"time"

	"github.com/runbook-lab/runbook/modules"
)

// Pause waits a while (Ansible's pause without a prompt: runbook does not
// stop a run to ask questions; a prompt is refused).
type Pause struct {
	Seconds float64 `yaml:"seconds" doc:"how long to wait"`
	Minutes float64 `yaml:"minutes" doc:"or this many minutes"`
	Prompt  string  `yaml:"prompt" doc:"refused: runbook does not stop to ask (use --start-at-task or a check run)"`
	Echo    *bool   `yaml:"echo" doc:"accepted for Ansible playbooks"`
}

func init() {
	modules.Register(modules.Info{ID: "pause", Summary: "Wait a number of seconds or minutes (no prompts).",
		Example: "pause:\n  seconds: 10", New: func() modules.Module { return &Pause{} }})
}

// ControllerOnly: the wait happens here.
func (*Pause) ControllerOnly() {}

// Validate refuses a prompt and a negative time.
func (p *Pause) Validate() error {
	if p.Prompt != "" && p.Seconds == 0 && p.Minutes == 0 {
		return fmt.Errorf("pause: a prompt that waits for an answer is not supported (runbook runs unattended); give seconds or minutes")
	}
	if p.Seconds < 0 || p.Minutes < 0 {
		return fmt.Errorf("pause: expected a duration of 0 or more")
	}
	if p.Seconds+60*p.Minutes > modules.MaxWaitSeconds {
		return fmt.Errorf("pause: at most %d seconds (a year); a longer time overflows", int(modules.MaxWaitSeconds))
	}
	return nil
}

// Run waits.
func (p *Pause) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	d := time.Duration((p.Seconds + 60*p.Minutes) * float64(time.Second))
	res := &modules.Result{Msg: fmt.Sprintf("would pause %s", d)}
	res.Then(func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
		*res = modules.Result{Msg: fmt.Sprintf("paused %s", d), Data: map[string]any{"delta": d.Seconds()}}
		return nil
	})
	return res, nil
}

var (
	_ modules.ControllerOnly = (*Pause)(nil)
	_ modules.Validator      = (*Pause)(nil)
)

package builtin

import (
	"context"
	"fmt"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "ping", Summary: "Check that the host is reachable and runs commands.", Example: "ping: {}", New: func() modules.Module { return &Ping{} }})
}

// Ping checks that the host runs commands.
type Ping struct {
	Data any `yaml:"data" doc:"what to answer instead of pong (crash: fail, as Ansible's)" default:"pong"`
}

// Run pings.
func (p *Ping) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	if _, err := modules.RunOK(ctx, env.Host, "true", "ping"); err != nil {
		return nil, err
	}
	if p.Data == nil {
		p.Data = "pong"
	}
	if p.Data == "crash" {
		return modules.Failf("boom (ping data=crash)"), nil
	}
	return &modules.Result{Msg: fmt.Sprint(p.Data), Data: map[string]any{"ping": p.Data}}, nil
}

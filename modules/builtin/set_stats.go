package builtin

import (
	"context"
	"fmt"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "set_stats", Summary: "Accepted for Ansible playbooks: shows the data (runbook has no stats callback).",
		Example: "set_stats:\n  data:\n    deployed: 1", New: func() modules.Module { return &SetStats{} }})
}

// SetStats is accepted for Ansible playbooks: runbook has no stats
// callback; the data is shown.
type SetStats struct {
	Data      map[string]any `yaml:"data" doc:"the stats (shown, not aggregated)"`
	PerHost   bool           `yaml:"per_host" doc:"accepted"`
	Aggregate *bool          `yaml:"aggregate" doc:"accepted" default:"true"`
}

// ControllerOnly: nothing on the host.
func (*SetStats) ControllerOnly() {}

// Run shows the data.
func (s *SetStats) Run(context.Context, *modules.Env) (*modules.Result, error) {
	return &modules.Result{Msg: fmt.Sprint(s.Data), Data: map[string]any{"ansible_stats": map[string]any{"data": s.Data}}}, nil
}

var _ modules.ControllerOnly = (*SetStats)(nil)

package builtin

import (
	"context"
	"errors"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "raw", Summary: "Run a command line on the host as it is (for bootstrapping; the same as shell here).",
		Example: "raw: apt-get install -y python3", New: func() modules.Module { return &Raw{} }})
}

// Raw runs a command line as it is (Ansible's raw: no module machinery;
// here the same as shell, for playbooks that bootstrap with it).
type Raw struct {
	Cmd        string `yaml:"cmd" doc:"the command line"`
	Executable string `yaml:"executable" doc:"the shell to run it with"`
}

// FreeFormArg: `raw: command`.
func (*Raw) FreeFormArg() string { return "cmd" }

// Validate needs a command.
func (r *Raw) Validate() error {
	if r.Cmd == "" {
		return errors.New("raw: the command is required")
	}
	return nil
}

// Run runs the line.
func (r *Raw) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	return (&Shell{Cmd: r.Cmd, Executable: r.Executable}).Run(ctx, env)
}

var _ modules.FreeForm = (*Raw)(nil)

package builtin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "tempfile", Summary: "Make a temporary file or folder on the host (path for register).",
		Example: "tempfile:\n  state: directory\nregister: tmp", New: func() modules.Module { return &Tempfile{} }})
}

// Tempfile makes a temporary file or folder on the host.
type Tempfile struct {
	State  string `yaml:"state" doc:"file or directory" default:"file"`
	Prefix string `yaml:"prefix" doc:"start of the name" default:"ansible."`
	Suffix string `yaml:"suffix" doc:"end of the name"`
	Path   string `yaml:"path" doc:"the folder (default: the host's temporary folder)"`
}

// Validate checks the state.
func (t *Tempfile) Validate() error {
	if t.State != "file" && t.State != "directory" {
		return fmt.Errorf("tempfile: state must be file or directory, got %q", t.State)
	}
	if strings.ContainsAny(t.Prefix+t.Suffix, "/") {
		return errors.New("tempfile: prefix and suffix are parts of a name, without /")
	}
	return nil
}

// Run makes it.
func (t *Tempfile) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	res := &modules.Result{Changed: true, Data: map[string]any{"path": "(made on a real run)"}}
	res.Then(func(ctx context.Context) error {
		dir := modules.Or(t.Path, "${TMPDIR:-/tmp}")
		quotedDir := `"` + dir + `"`
		if t.Path != "" {
			quotedDir = modules.Quote(t.Path)
		}
		cmd := "mktemp "
		if t.State == "directory" {
			cmd += "-d "
		}
		cmd += "-p " + quotedDir + " " + modules.Quote(t.Prefix+"XXXXXXXX"+t.Suffix)
		r, err := modules.RunOK(ctx, env.Host, cmd, "mktemp")
		if err != nil {
			return err
		}
		*res = modules.Result{Changed: true, Data: map[string]any{"path": strings.TrimSpace(r.Stdout), "state": t.State}}
		return nil
	})
	return res, nil
}

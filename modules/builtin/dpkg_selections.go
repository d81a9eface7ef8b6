package builtin

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "dpkg_selections", Summary: "Set a package's dpkg selection (hold keeps apt from upgrading it).",
		Example: "dpkg_selections:\n  name: postgresql-15\n  selection: hold", New: func() modules.Module { return &DpkgSelections{} }})
}

// DpkgSelections sets a package's dpkg selection (hold, install...).
type DpkgSelections struct {
	Name      string `yaml:"name" doc:"the package"`
	Selection string `yaml:"selection" doc:"install, hold, deinstall or purge"`
}

// Validate checks the arguments.
func (d *DpkgSelections) Validate() error {
	if !regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]*$`).MatchString(d.Name) {
		return fmt.Errorf("dpkg_selections: %q is not a package name", d.Name)
	}
	switch d.Selection {
	case "install", "hold", "deinstall", "purge":
		return nil
	}
	return fmt.Errorf("dpkg_selections: selection must be install, hold, deinstall or purge, got %q", d.Selection)
}

// Run sets the selection when it differs.
func (d *DpkgSelections) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	r, err := env.Host.Run(ctx, modules.Cmd{Script: "dpkg --get-selections " + modules.Quote(d.Name) + " 2>/dev/null"})
	if err != nil {
		return nil, err
	}
	cur := ""
	if f := strings.Fields(r.Stdout); len(f) >= 2 {
		cur = f[1]
	}
	res := &modules.Result{Data: map[string]any{"before": cur, "after": d.Selection}}
	if cur == d.Selection {
		return res, nil
	}
	res.Changed = true
	res.Then(func(ctx context.Context) error {
		r, err = env.Host.Run(ctx, modules.Cmd{Script: "dpkg --set-selections", Stdin: []byte(d.Name + " " + d.Selection + "\n")})
		if err != nil {
			return err
		}
		if r.RC != 0 {
			*res = *modules.Failf("dpkg --set-selections: %s", strings.TrimSpace(r.Stderr))
		}
		return nil
	})
	return res, nil
}

var _ modules.Validator = (*DpkgSelections)(nil)

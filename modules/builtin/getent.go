package builtin

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "getent", Summary: "Read a getent database (passwd, group, hosts...) into the getent_DATABASE fact.",
		Example: "getent:\n  database: passwd\n  key: postgres", New: func() modules.Module { return &Getent{} }})
}

// Getent reads a getent database into the getent_DATABASE fact.
type Getent struct {
	Database string `yaml:"database" doc:"passwd, group, hosts, services, shadow..."`
	Key      string `yaml:"key" doc:"one entry (empty: all)"`
	Split    string `yaml:"split" doc:"field separator (default: ':' for passwd, group and shadow, else whitespace)"`
	FailKey  *bool  `yaml:"fail_key" doc:"fail when the key is not found" default:"true"`
}

// Validate checks the arguments.
func (g *Getent) Validate() error {
	if !regexp.MustCompile(`^[a-z_]+$`).MatchString(g.Database) {
		return fmt.Errorf("getent: %q is not a database name", g.Database)
	}
	return nil
}

// Run reads the database; a getent fact holds entries by key, each a list
// of the other fields.
func (g *Getent) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	cmd := "getent " + modules.Quote(g.Database)
	if g.Key != "" {
		cmd += " " + modules.Quote(g.Key)
	}
	r, err := env.Host.Run(ctx, modules.Cmd{Script: cmd})
	if err != nil {
		return nil, err
	}
	switch {
	case r.RC == 2 && g.Key != "" && (g.FailKey == nil || *g.FailKey):
		return modules.Failf("getent: %s not found in %s", g.Key, g.Database), nil
	case r.RC != 0 && r.RC != 2:
		return modules.Failf("getent %s: rc=%d %s", g.Database, r.RC, strings.TrimSpace(r.Stderr)), nil
	}
	split := g.Split
	if split == "" {
		switch g.Database {
		case "passwd", "group", "shadow", "gshadow":
			split = ":"
		}
	}
	entries := map[string]any{}
	for _, l := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		if l == "" {
			continue
		}
		var f []string
		if split == "" {
			f = strings.Fields(l)
		} else {
			f = strings.Split(l, split)
		}
		rest := make([]any, 0, len(f)-1)
		for _, x := range f[1:] {
			rest = append(rest, x)
		}
		entries[f[0]] = rest
	}
	return &modules.Result{Facts: map[string]any{"getent_" + g.Database: entries}}, nil
}

var _ modules.Validator = (*Getent)(nil)

package builtin

import (
	"context"
	"errors"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "debconf", Summary: "Set a debconf answer for a package (before it is installed).",
		Example: "debconf:\n  name: tzdata\n  question: tzdata/Areas\n  value: Etc\n  vtype: select", New: func() modules.Module { return &Debconf{} }})
}

// Debconf sets a debconf answer before a package asks (Ansible's debconf).
type Debconf struct {
	Name     string `yaml:"name" aliases:"package" doc:"the package"`
	Question string `yaml:"question" aliases:"selection,setting" doc:"the question"`
	VType    string `yaml:"vtype" doc:"its type: string, boolean, select, multiselect, note, password, seen, text..."`
	Value    string `yaml:"value" aliases:"answer" doc:"the answer"`
	Unseen   bool   `yaml:"unseen" doc:"do not mark the question seen"`
}

// Validate checks the arguments.
func (d *Debconf) Validate() error {
	if d.Name == "" {
		return errors.New("debconf: name is required")
	}
	if d.Question != "" && (d.VType == "" || strings.ContainsAny(d.Question+d.VType, " \t\n")) {
		return errors.New("debconf: question and vtype are one word each, both needed to set an answer")
	}
	return nil
}

// Run sets the answer when it differs.
func (d *Debconf) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	r, err := env.Host.Run(ctx, modules.Cmd{Script: "debconf-show " + modules.Quote(d.Name) + " 2>/dev/null"})
	if err != nil {
		return nil, err
	}
	current := map[string]string{}
	for _, l := range strings.Split(r.Stdout, "\n") {
		l = strings.TrimLeft(l, "* ")
		if k, v, ok := strings.Cut(l, ":"); ok {
			current[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	res := &modules.Result{Data: map[string]any{"current": current}}
	if d.Question == "" || current[d.Question] == d.Value && d.VType != "password" {
		return res, nil
	}
	res.Changed = true
	res.Then(func(ctx context.Context) error {
		line := d.Name + " " + d.Question + " " + d.VType + " " + d.Value + "\n"
		cmd := "debconf-set-selections"
		if !d.Unseen {
			cmd += " && echo " + modules.Quote(d.Name+" "+d.Question+" seen true") + " | debconf-set-selections"
		}
		r, err = env.Host.Run(ctx, modules.Cmd{Script: cmd, Stdin: []byte(line), Secret: d.VType == "password"})
		if err != nil {
			return err
		}
		if r.RC != 0 {
			*res = *modules.Failf("debconf: %s", strings.TrimSpace(r.Stderr))
		}
		return nil
	})
	return res, nil
}

package builtin

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// Pip installs Python packages (Ansible's pip) with the host's pip.
type Pip struct {
	Name         modules.StringList `yaml:"name" doc:"package(s), optionally with a version specifier (pkg==1.2)"`
	Version      string             `yaml:"version" doc:"the version of the one package named"`
	State        string             `yaml:"state" doc:"present, absent, latest or forcereinstall" default:"present"`
	Requirements string             `yaml:"requirements" doc:"a requirements file on the host (instead of name)"`
	Virtualenv   string             `yaml:"virtualenv" doc:"install into this virtualenv (made with python3 -m venv when missing)"`
	Executable   string             `yaml:"executable" doc:"the pip to run (default: pip3, or the virtualenv's)"`
	ExtraArgs    string             `yaml:"extra_args" doc:"more pip arguments (split into words)"`
}

func init() {
	modules.Register(modules.Info{ID: "pip", Summary: "Install, upgrade or remove Python packages with pip (optionally in a virtualenv).",
		Example: "pip:\n  name: psycopg2-binary\n  virtualenv: /opt/venv", New: func() modules.Module { return &Pip{} }})
}

var pipSpec = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._\[\],-]*\s*((==|>=|<=|~=|!=|>|<)\s*[A-Za-z0-9.*+!-]+\s*,?\s*)*$`)

// Validate checks the arguments.
func (p *Pip) Validate() error {
	if len(p.Name) == 0 && p.Requirements == "" {
		return errors.New("pip: name or requirements is required")
	}
	for _, n := range p.Name {
		if !pipSpec.MatchString(n) {
			return fmt.Errorf("pip: %q is not a package name with an optional version", n)
		}
	}
	switch p.State {
	case "present", "absent", "latest", "forcereinstall":
		return nil
	}
	return fmt.Errorf("pip: state must be present, absent, latest or forcereinstall, got %q", p.State)
}

func pipName(spec string) string {
	return strings.ToLower(strings.ReplaceAll(regexp.MustCompile(`[\[=<>~!,\s].*$`).ReplaceAllString(spec, ""), "_", "-"))
}

// Run installs what is missing.
func (p *Pip) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	pip := modules.Or(p.Executable, "pip3")
	setup := ""
	if p.Virtualenv != "" {
		v := modules.Quote(p.Virtualenv)
		pip = p.Virtualenv + "/bin/pip"
		setup = "[ -x " + v + "/bin/pip ] || python3 -m venv " + v + "\n"
	}
	q := modules.Quote(pip)
	names := []string(p.Name)
	if p.Version != "" && len(names) == 1 {
		names = []string{names[0] + "==" + p.Version}
	}
	res := &modules.Result{Data: map[string]any{"name": modules.AnyList(names)}}
	var todo []string
	if p.Requirements == "" {
		r, err := env.Host.Run(ctx, modules.Cmd{Script: "[ -x " + q + " ] || command -v " + q + " >/dev/null || exit 0\n" + q + " list --format=freeze 2>/dev/null"})
		if err != nil {
			return nil, err
		}
		have := map[string]string{}
		for _, l := range strings.Split(r.Stdout, "\n") {
			if n, v, ok := strings.Cut(l, "=="); ok {
				have[pipName(n)] = v
			}
		}
		for _, n := range names {
			v, installed := have[pipName(n)]
			switch p.State {
			case "absent":
				if installed {
					todo = append(todo, n)
				}
			case "present":
				want := ""
				if _, after, ok := strings.Cut(n, "=="); ok {
					want = strings.TrimSpace(after)
				}
				if !installed || want != "" && v != want {
					todo = append(todo, n)
				}
			default: // latest, forcereinstall: pip decides
				todo = append(todo, n)
			}
		}
		sort.Strings(todo)
		if len(todo) == 0 {
			return res, nil
		}
	}
	res.Changed = true
	res.Then(func(ctx context.Context) error {
		var args []string
		switch p.State {
		case "absent":
			args = []string{"uninstall", "-y"}
		case "latest":
			args = []string{"install", "-U"}
		case "forcereinstall":
			args = []string{"install", "-U", "--force-reinstall"}
		default:
			args = []string{"install"}
		}
		cmd := setup + q + " " + strings.Join(args, " ")
		if p.ExtraArgs != "" {
			words, err := SplitWords(p.ExtraArgs)
			if err != nil {
				*res = *modules.Failf("pip: extra_args: %v", err)
				return nil
			}
			cmd += " " + modules.Join(words...)
		}
		if p.Requirements != "" {
			cmd += " -r " + modules.Quote(p.Requirements)
		} else {
			cmd += " " + modules.Join(todo...)
		}
		r, err := env.Host.Run(ctx, modules.Cmd{Script: cmd})
		if err != nil {
			return err
		}
		if r.RC != 0 {
			*res = *modules.Failf("pip failed: %s", modules.LastLines(strings.TrimSpace(r.Stderr+"\n"+r.Stdout), 8))
			return nil
		}
		if p.Requirements != "" && !strings.Contains(r.Stdout, "Successfully installed") && p.State == "present" {
			res.Changed = false
		}
		return nil
	})
	return res, nil
}

var (
	_ modules.Validator = (*Pip)(nil)
)

package builtin

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "sysctl", Summary: "Set a kernel parameter in a sysctl file and in the running kernel.",
		Example: "sysctl:\n  name: vm.swappiness\n  value: '10'\n  sysctl_file: /etc/sysctl.d/90-postgres.conf", New: func() modules.Module { return &Sysctl{} }})
}

// Sysctl sets a kernel parameter in a sysctl file and, by default, now.
type Sysctl struct {
	Name        string `yaml:"name" aliases:"key" doc:"the parameter, e.g. vm.swappiness"`
	Value       string `yaml:"value" aliases:"val" doc:"its value"`
	State       string `yaml:"state" doc:"present or absent" default:"present"`
	SysctlFile  string `yaml:"sysctl_file" doc:"the file that keeps it across reboots" default:"/etc/sysctl.conf"`
	Reload      *bool  `yaml:"reload" doc:"load the file after a change (sysctl -p FILE)" default:"true"`
	SysctlSet   bool   `yaml:"sysctl_set" doc:"also compare and set the running value (sysctl -w)"`
	IgnoreError bool   `yaml:"ignoreerrors" doc:"ignore unknown keys when loading"`
}

var sysctlKey = regexp.MustCompile(`^[A-Za-z0-9_.*/-]+$`)

// Validate checks the arguments.
func (s *Sysctl) Validate() error {
	if !sysctlKey.MatchString(s.Name) {
		return fmt.Errorf("sysctl: %q is not a parameter name", s.Name)
	}
	if s.State != "present" && s.State != "absent" {
		return fmt.Errorf("sysctl: state must be present or absent, got %q", s.State)
	}
	if s.State == "present" && s.Value == "" {
		return errors.New("sysctl: value is required with state present")
	}
	return nil
}

// Run edits the file, then loads it (or sets the running value).
func (s *Sysctl) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	st, err := modules.Stat(ctx, env.Host, s.SysctlFile, true)
	if err != nil {
		return nil, err
	}
	text := EditSysctl(string(st.Content), s.Name, s.Value, s.State == "present")
	res, err := modules.PutFile(ctx, env, modules.FileSpec{Path: s.SysctlFile, Data: []byte(text)})
	if err != nil {
		return nil, err
	}
	key := modules.Quote(strings.ReplaceAll(s.Name, "/", "."))
	if s.SysctlSet && s.State == "present" {
		r, err := modules.RunOK(ctx, env.Host, "sysctl -n "+key, "sysctl -n")
		if err != nil {
			return nil, err
		}
		if strings.Join(strings.Fields(r.Stdout), " ") != strings.Join(strings.Fields(s.Value), " ") {
			res.Changed = true
			res.Then(func(ctx context.Context) error {
				_, err := modules.RunOK(ctx, env.Host, "sysctl -w "+modules.Quote(s.Name+"="+s.Value), "sysctl -w")
				return err
			})
		}
	}
	if res.Changed && (s.Reload == nil || *s.Reload) {
		flag := ""
		if s.IgnoreError {
			flag = "-e "
		}
		res.Then(func(ctx context.Context) error {
			_, err := modules.RunOK(ctx, env.Host, "sysctl "+flag+"-p "+modules.Quote(s.SysctlFile), "sysctl -p")
			return err
		})
	}
	return res, nil
}

// EditSysctl sets (or removes) name=value in a sysctl file's text exactly
// as Ansible's sysctl does: every key line is rewritten as key=value, the
// first line of each key is kept and later ones dropped, a new key goes at
// the end.
func EditSysctl(text, name, value string, present bool) string {
	ls := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if text == "" {
		ls = nil
	}
	var out []string
	seen := map[string]bool{}
	for _, l := range ls {
		t := strings.TrimSpace(l)
		k, v, ok := strings.Cut(t, "=")
		if t == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, ";") || !ok {
			out = append(out, l)
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if seen[k] {
			continue
		}
		seen[k] = true
		switch {
		case k != name:
			out = append(out, k+"="+v)
		case present:
			out = append(out, k+"="+value)
		}
	}
	if !seen[name] && present {
		out = append(out, name+"="+value)
	}
	return joinLines(out)
}

var _ modules.Validator = (*Sysctl)(nil)

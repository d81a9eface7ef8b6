package builtin

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// Hostname sets the host's name (Ansible's hostname).
type Hostname struct {
	Name string `yaml:"name" doc:"the new host name"`
	Use  string `yaml:"use" doc:"accepted for Ansible playbooks: systemd (hostnamectl) when there, else /etc/hostname" default:"auto"`
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

// Getent reads a getent database into the getent_DATABASE fact.
type Getent struct {
	Database string `yaml:"database" doc:"passwd, group, hosts, services, shadow..."`
	Key      string `yaml:"key" doc:"one entry (empty: all)"`
	Split    string `yaml:"split" doc:"field separator (default: ':' for passwd, group and shadow, else whitespace)"`
	FailKey  *bool  `yaml:"fail_key" doc:"fail when the key is not found" default:"true"`
}

func init() {
	modules.Register(modules.Info{ID: "hostname", Summary: "Set the host's name (hostnamectl, or /etc/hostname and hostname).",
		Example: "hostname:\n  name: postgres1", New: func() modules.Module { return &Hostname{} }})
	modules.Register(modules.Info{ID: "sysctl", Summary: "Set a kernel parameter in a sysctl file and in the running kernel.",
		Example: "sysctl:\n  name: vm.swappiness\n  value: '10'\n  sysctl_file: /etc/sysctl.d/90-postgres.conf", New: func() modules.Module { return &Sysctl{} }})
	modules.Register(modules.Info{ID: "getent", Summary: "Read a getent database (passwd, group, hosts...) into the getent_DATABASE fact.",
		Example: "getent:\n  database: passwd\n  key: postgres", New: func() modules.Module { return &Getent{} }})
}

var hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$`)

// Validate checks the name.
func (h *Hostname) Validate() error {
	if !hostnameRE.MatchString(h.Name) {
		return fmt.Errorf("hostname: %q is not a host name", h.Name)
	}
	return nil
}

// Run sets the name when it differs.
func (h *Hostname) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	r, err := modules.RunOK(ctx, env.Host, "cat /etc/hostname 2>/dev/null; echo; hostname", "hostname")
	if err != nil {
		return nil, err
	}
	l := strings.Split(r.Stdout, "\n")
	file, running := strings.TrimSpace(l[0]), ""
	if len(l) > 1 {
		running = strings.TrimSpace(strings.Join(l[1:], ""))
	}
	res := &modules.Result{Data: map[string]any{"name": h.Name}, Facts: map[string]any{"ansible_hostname": strings.Split(h.Name, ".")[0], "ansible_nodename": h.Name}}
	if file == h.Name && running == h.Name {
		return res, nil
	}
	res.Changed = true
	if env.Diff {
		res.Diffs = []modules.Diff{{Path: "hostname", Before: running + "\n", After: h.Name + "\n"}}
	}
	if env.Check {
		return res, nil
	}
	q := modules.Quote(h.Name)
	_, err = modules.RunOK(ctx, env.Host, "if command -v hostnamectl >/dev/null && hostnamectl set-hostname "+q+" 2>/dev/null; then :; else echo "+q+" > /etc/hostname && hostname "+q+"; fi", "hostname")
	return res, err
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
			if !env.Check {
				if _, err := modules.RunOK(ctx, env.Host, "sysctl -w "+modules.Quote(s.Name+"="+s.Value), "sysctl -w"); err != nil {
					return nil, err
				}
			}
		}
	}
	if res.Changed && !env.Check && (s.Reload == nil || *s.Reload) {
		flag := ""
		if s.IgnoreError {
			flag = "-e "
		}
		if _, err := modules.RunOK(ctx, env.Host, "sysctl "+flag+"-p "+modules.Quote(s.SysctlFile), "sysctl -p"); err != nil {
			return nil, err
		}
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

var (
	_ modules.Validator = (*Hostname)(nil)
	_ modules.Validator = (*Sysctl)(nil)
	_ modules.Validator = (*Getent)(nil)
)

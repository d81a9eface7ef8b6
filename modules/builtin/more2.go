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

// KnownHosts keeps a host's key in a known_hosts file (Ansible's
// known_hosts).
type KnownHosts struct {
	Name  string `yaml:"name" aliases:"host" doc:"the host (as it appears in the key line)"`
	Key   string `yaml:"key" doc:"the key line (host keytype base64), needed with state present"`
	Path  string `yaml:"path" doc:"the known_hosts file" default:"~/.ssh/known_hosts"`
	State string `yaml:"state" doc:"present or absent" default:"present"`
	Hash  bool   `yaml:"hash_host" doc:"accepted for Ansible playbooks (runbook writes the name as given)"`
}

// Assemble joins the files of a folder on the host into one file, in name
// order (Ansible's assemble with remote_src).
type Assemble struct {
	Src               string `yaml:"src" doc:"the folder of fragments on the host"`
	Dest              string `yaml:"dest" doc:"the file to write"`
	Delimiter         string `yaml:"delimiter" doc:"a line written between fragments"`
	Regexp            string `yaml:"regexp" doc:"only fragments whose name matches"`
	IgnoreHid         bool   `yaml:"ignore_hidden" doc:"leave out names starting with a dot"`
	RemoteSrc         *bool  `yaml:"remote_src" doc:"the fragments are on the host (the only kind runbook assembles)" default:"true"`
	modules.FileAttrs `yaml:",inline"`
}

// DpkgSelections sets a package's dpkg selection (hold, install...).
type DpkgSelections struct {
	Name      string `yaml:"name" doc:"the package"`
	Selection string `yaml:"selection" doc:"install, hold, deinstall or purge"`
}

func init() {
	modules.Register(modules.Info{ID: "known_hosts", Summary: "Add or remove a host's key in a known_hosts file.",
		Example: "known_hosts:\n  name: github.com\n  key: \"github.com ssh-ed25519 AAAAC3...\"", New: func() modules.Module { return &KnownHosts{} }})
	modules.Register(modules.Info{ID: "assemble", Summary: "Join the fragment files of a folder on the host into one file, in name order.",
		Example: "assemble:\n  src: /etc/app/conf.d\n  dest: /etc/app/app.conf", New: func() modules.Module { return &Assemble{} }})
	modules.Register(modules.Info{ID: "dpkg_selections", Summary: "Set a package's dpkg selection (hold keeps apt from upgrading it).",
		Example: "dpkg_selections:\n  name: postgresql-15\n  selection: hold", New: func() modules.Module { return &DpkgSelections{} }})
}

// Validate checks the arguments.
func (k *KnownHosts) Validate() error {
	if k.Name == "" {
		return errors.New("known_hosts: name is required")
	}
	if k.State != "present" && k.State != "absent" {
		return fmt.Errorf("known_hosts: state must be present or absent, got %q", k.State)
	}
	if k.State == "present" {
		f := strings.Fields(k.Key)
		if len(f) < 3 {
			return errors.New("known_hosts: key must be a line: host keytype base64")
		}
		if !hostsInLine(f[0], k.Name) {
			return fmt.Errorf("known_hosts: the key line is for %s, not %s", f[0], k.Name)
		}
	}
	return nil
}

func hostsInLine(field, name string) bool {
	for _, h := range strings.Split(field, ",") {
		if h == name || strings.Trim(h, "[]") == name || strings.HasPrefix(h, "["+name+"]:") {
			return true
		}
	}
	return false
}

// Run edits the file.
func (k *KnownHosts) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	path := k.Path
	if strings.HasPrefix(path, "~/") {
		r, err := modules.RunOK(ctx, env.Host, "printf %s \"$HOME\"", "home")
		if err != nil {
			return nil, err
		}
		path = r.Stdout + path[1:]
	}
	st, err := modules.Stat(ctx, env.Host, path, true)
	if err != nil {
		return nil, err
	}
	keyType := ""
	if f := strings.Fields(k.Key); len(f) >= 3 {
		keyType = f[1]
	}
	var out []string
	present := false
	for _, l := range strings.Split(strings.TrimSuffix(string(st.Content), "\n"), "\n") {
		f := strings.Fields(l)
		if l == "" && len(out) == 0 {
			continue
		}
		if len(f) >= 3 && !strings.HasPrefix(l, "#") && hostsInLine(f[0], k.Name) {
			if k.State == "absent" {
				continue
			}
			if strings.Join(f[:3], " ") == strings.Join(strings.Fields(k.Key)[:3], " ") {
				present = true
			} else if f[1] == keyType {
				continue // the same key type with another key: replaced
			}
		}
		out = append(out, l)
	}
	if k.State == "present" && !present {
		out = append(out, strings.TrimSpace(k.Key))
	}
	if !st.Exists && k.State == "absent" {
		return &modules.Result{}, nil
	}
	return modules.PutFile(ctx, env, modules.FileSpec{Path: path, Data: []byte(joinLines(out)), Mode: modules.Mode{Set: !st.Exists, Perm: 0o644}})
}

// Validate checks the arguments.
func (a *Assemble) Validate() error {
	if a.Src == "" || a.Dest == "" {
		return errors.New("assemble: src and dest are required")
	}
	if a.RemoteSrc != nil && !*a.RemoteSrc {
		return errors.New("assemble: fragments on the machine running runbook are not supported (remote_src: false); copy them first")
	}
	if _, err := regexp.Compile(a.Regexp); err != nil {
		return fmt.Errorf("assemble: %v", err)
	}
	return nil
}

// Run reads the fragments and writes the whole.
func (a *Assemble) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	r, err := env.Host.Run(ctx, modules.Cmd{Script: "cd " + modules.Quote(a.Src) + " && for f in * .[!.]*; do [ -f \"$f\" ] && printf '%s\\0' \"$f\"; done; true"})
	if err != nil {
		return nil, err
	}
	if r.RC != 0 {
		return modules.Failf("assemble: %s: %s", a.Src, strings.TrimSpace(r.Stderr)), nil
	}
	var names []string
	for _, n := range strings.Split(r.Stdout, "\x00") {
		if n == "" || a.IgnoreHid && strings.HasPrefix(n, ".") {
			continue
		}
		if a.Regexp != "" && !regexp.MustCompile(a.Regexp).MatchString(n) {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	// as Ansible's: a newline after a fragment that lacks one, the
	// delimiter (with a newline) between fragments
	var b strings.Builder
	addNewline := false
	for i, n := range names {
		st, err := modules.Stat(ctx, env.Host, a.Src+"/"+n, true)
		if err != nil {
			return nil, err
		}
		if addNewline {
			b.WriteString("\n")
		}
		if i > 0 && a.Delimiter != "" {
			b.WriteString(a.Delimiter)
			if !strings.HasSuffix(a.Delimiter, "\n") {
				b.WriteString("\n")
			}
		}
		b.Write(st.Content)
		addNewline = !strings.HasSuffix(string(st.Content), "\n")
	}
	return modules.PutFile(ctx, env, a.Spec(a.Dest, []byte(b.String())))
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
	if env.Check {
		return res, nil
	}
	r, err = env.Host.Run(ctx, modules.Cmd{Script: "dpkg --set-selections", Stdin: []byte(d.Name + " " + d.Selection + "\n")})
	if err != nil {
		return nil, err
	}
	if r.RC != 0 {
		return modules.Failf("dpkg --set-selections: %s", strings.TrimSpace(r.Stderr)), nil
	}
	return res, nil
}

var (
	_ modules.Validator = (*KnownHosts)(nil)
	_ modules.Validator = (*Assemble)(nil)
	_ modules.Validator = (*DpkgSelections)(nil)
)

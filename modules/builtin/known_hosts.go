package builtin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "known_hosts", Summary: "Add or remove a host's key in a known_hosts file.",
		Example: "known_hosts:\n  name: github.com\n  key: \"github.com ssh-ed25519 AAAAC3...\"", New: func() modules.Module { return &KnownHosts{} }})
}

// KnownHosts keeps a host's key in a known_hosts file (Ansible's
// known_hosts).
type KnownHosts struct {
	Name  string `yaml:"name" aliases:"host" doc:"the host (as it appears in the key line)"`
	Key   string `yaml:"key" doc:"the key line (host keytype base64), needed with state present"`
	Path  string `yaml:"path" doc:"the known_hosts file" default:"~/.ssh/known_hosts"`
	State string `yaml:"state" doc:"present or absent" default:"present"`
	Hash  bool   `yaml:"hash_host" doc:"accepted for Ansible playbooks (runbook writes the name as given)"`
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

var _ modules.Validator = (*KnownHosts)(nil)

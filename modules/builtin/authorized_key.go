package builtin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// AuthorizedKey adds or removes an SSH public key in a user's
// authorized_keys (Ansible's authorized_key).
type AuthorizedKey struct {
	User      string `yaml:"user" doc:"whose authorized_keys"`
	Key       string `yaml:"key" doc:"the public key line(s) (several: one per line)"`
	State     string `yaml:"state" doc:"present or absent" default:"present"`
	Path      string `yaml:"path" doc:"the file (default: ~USER/.ssh/authorized_keys)"`
	Exclusive bool   `yaml:"exclusive" doc:"remove every other key from the file"`
	KeyOpts   string `yaml:"key_options" doc:"options put before the key (from=\"...\",no-pty)"`
	Comment   string `yaml:"comment" doc:"replace the key's comment"`
	Manage    *bool  `yaml:"manage_dir" doc:"create ~/.ssh (0700, owned by the user) when missing" default:"true"`
}

func init() {
	modules.Register(modules.Info{ID: "authorized_key", Summary: "Add or remove SSH public keys in a user's authorized_keys (0600, ~/.ssh 0700, owned by the user).",
		Example: "authorized_key:\n  user: postgres\n  key: \"{{ .lab_public_key }}\"", New: func() modules.Module { return &AuthorizedKey{} }})
}

// Validate checks the arguments.
func (a *AuthorizedKey) Validate() error {
	if a.User == "" || strings.TrimSpace(a.Key) == "" {
		return errors.New("authorized_key: user and key are required")
	}
	if a.State != "present" && a.State != "absent" {
		return fmt.Errorf("authorized_key: state must be present or absent, got %q", a.State)
	}
	for _, k := range a.keys() {
		if len(strings.Fields(k)) < 2 {
			return fmt.Errorf("authorized_key: %q is not a public key line (type and base64)", k)
		}
	}
	return nil
}

func (a *AuthorizedKey) keys() []string {
	var out []string
	for _, l := range strings.Split(a.Key, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// keyID is what makes two key lines the same key: type and base64.
func keyID(line string) string {
	f := strings.Fields(line)
	for i := 0; i+1 < len(f); i++ {
		if strings.HasPrefix(f[i], "ssh-") || strings.HasPrefix(f[i], "ecdsa-") || strings.HasPrefix(f[i], "sk-") {
			return f[i] + " " + f[i+1]
		}
	}
	if len(f) >= 2 {
		return f[0] + " " + f[1]
	}
	return line
}

// Run edits the file.
func (a *AuthorizedKey) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	r, err := modules.RunOK(ctx, env.Host, "getent passwd "+modules.Quote(a.User)+" | cut -d: -f3,4,6", "getent passwd")
	if err != nil {
		return nil, err
	}
	f := strings.Split(strings.TrimSpace(r.Stdout), ":")
	if len(f) < 3 {
		return modules.Failf("authorized_key: no user %s", a.User), nil
	}
	dir := f[2] + "/.ssh"
	path := a.Path
	if path == "" {
		path = dir + "/authorized_keys"
	}
	st, err := modules.Stat(ctx, env.Host, path, true)
	if err != nil {
		return nil, err
	}
	wanted := map[string]string{}
	var order []string
	for _, k := range a.keys() {
		fields := strings.Fields(k)
		line := k
		if a.Comment != "" && len(fields) >= 2 {
			line = keyID(k) + " " + a.Comment
		}
		if a.KeyOpts != "" {
			line = a.KeyOpts + " " + line
		}
		wanted[keyID(k)] = line
		order = append(order, keyID(k))
	}
	var out []string
	done := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSuffix(string(st.Content), "\n"), "\n") {
		if l == "" && len(out) == 0 {
			continue
		}
		id := keyID(l)
		want, listed := wanted[id]
		switch {
		case strings.HasPrefix(strings.TrimSpace(l), "#") || strings.TrimSpace(l) == "":
			if !a.Exclusive {
				out = append(out, l)
			}
		case listed && a.State == "absent":
		case listed:
			if !done[id] {
				out = append(out, want)
				done[id] = true
			}
		case !a.Exclusive:
			out = append(out, l)
		}
	}
	if a.State == "present" {
		for _, id := range order {
			if !done[id] {
				out = append(out, wanted[id])
				done[id] = true
			}
		}
	}
	res := &modules.Result{Data: map[string]any{"user": a.User, "path": path}}
	if !st.Exists && a.State == "absent" {
		return res, nil
	}
	if a.Manage == nil || *a.Manage {
		ds, err := modules.Stat(ctx, env.Host, dir, false)
		if err != nil {
			return nil, err
		}
		if !ds.Exists && a.Path == "" {
			res.Changed = true
			mkdir := "install -d -m 0700 -o " + modules.Quote(f[0]) + " -g " + modules.Quote(f[1]) + " " + modules.Quote(dir)
			res.Then(func(ctx context.Context) error {
				_, err := modules.RunOK(ctx, env.Host, mkdir, "mkdir .ssh")
				return err
			})
		}
	}
	put, err := modules.PutFile(ctx, env, modules.FileSpec{Path: path, Data: []byte(joinLines(out)), Mode: modules.Mode{Set: true, Perm: 0o600}, Owner: f[0], Group: f[1]})
	if err != nil {
		return nil, err
	}
	res.Changed = put.Changed || res.Changed
	res.Diffs = put.Diffs
	res.Then(put.Apply) // after the folder is made
	return res, nil
}

var _ modules.Validator = (*AuthorizedKey)(nil)

package builtin

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "hostname", Summary: "Set the host's name (hostnamectl, or /etc/hostname and hostname).",
		Example: "hostname:\n  name: postgres1", New: func() modules.Module { return &Hostname{} }})
}

// Hostname sets the host's name (Ansible's hostname).
type Hostname struct {
	Name string `yaml:"name" doc:"the new host name"`
	Use  string `yaml:"use" doc:"accepted for Ansible playbooks: systemd (hostnamectl) when there, else /etc/hostname" default:"auto"`
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
	res.Then(func(ctx context.Context) error {
		q := modules.Quote(h.Name)
		_, err = modules.RunOK(ctx, env.Host, "if command -v hostnamectl >/dev/null && hostnamectl set-hostname "+q+" 2>/dev/null; then :; else echo "+q+" > /etc/hostname && hostname "+q+"; fi", "hostname")
		return err
	})
	return res, nil
}

var _ modules.Validator = (*Hostname)(nil)

package builtin

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "add_host", Summary: "Add a host (and its groups and variables) to the running inventory for the following plays.",
		Example: "add_host:\n  name: postgres1\n  groups: [lab]\n  ansible_host: 192.168.100.11", New: func() modules.Module { return &AddHost{} }})
}

// AddHost puts a host into the running inventory (Ansible's add_host), so
// later plays of the same run reach machines this run created. As in
// Ansible, every argument but the name and groups is a host variable.
type AddHost struct {
	Name        string             `yaml:"name" aliases:"host,hostname" doc:"the host's inventory name"`
	Groups      modules.StringList `yaml:"groups" aliases:"group,groupname" doc:"groups to put it in (a list, or names separated by commas)"`
	AnsibleHost string             `yaml:"ansible_host" doc:"address to connect to (any other argument is a host variable too)"`
	AnsibleUser string             `yaml:"ansible_user" doc:"SSH user"`
	KeyFile     string             `yaml:"ansible_ssh_private_key_file" doc:"SSH private key"`
	Jump        string             `yaml:"jump" doc:"jump host (an inventory host or [user@]host[:port])"`
	Vars        map[string]any     `yaml:"vars" doc:"more host variables"`
}

// ControllerOnly: add_host changes runbook's inventory, not the host.
func (*AddHost) ControllerOnly() {}

// SetRaw reads the arguments as Ansible does: name (host, hostname),
// groups (group, groupname), runbook's vars mapping, and every other key a
// host variable.
func (a *AddHost) SetRaw(args map[string]any) error {
	a.Vars = map[string]any{}
	for k, v := range args {
		switch k {
		case "name", "host", "hostname":
			a.Name = strings.TrimSpace(fmt.Sprint(v))
		case "groups", "group", "groupname":
			switch g := v.(type) {
			case string:
				for _, n := range strings.Split(g, ",") {
					if n = strings.TrimSpace(n); n != "" {
						a.Groups = append(a.Groups, n)
					}
				}
			case []any:
				for _, n := range g {
					a.Groups = append(a.Groups, fmt.Sprint(n))
				}
			default:
				return fmt.Errorf("add_host: groups must be a list or names separated by commas, got %v", v)
			}
		case "vars":
			m, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("add_host: vars must be a mapping, got %v", v)
			}
			maps.Copy(a.Vars, m)
		case "jump":
			a.Jump = fmt.Sprint(v)
		default:
			a.Vars[k] = v
		}
	}
	return a.Validate()
}

// Validate checks the arguments.
func (a *AddHost) Validate() error {
	if a.Name == "" {
		return errors.New("add_host: name is required")
	}
	return nil
}

// Run returns the host for the runner to add once the task is done on
// every host (in check mode too: it changes nothing outside runbook).
func (a *AddHost) Run(_ context.Context, env *modules.Env) (*modules.Result, error) {
	vars := maps.Clone(a.Vars)
	if vars == nil {
		vars = map[string]any{}
	}
	for k, v := range map[string]string{"ansible_host": a.AnsibleHost, "ansible_user": a.AnsibleUser,
		"ansible_ssh_private_key_file": a.KeyFile, "jump": a.Jump} {
		if v != "" {
			vars[k] = v
		}
	}
	h := modules.NewHost{Name: a.Name, Groups: a.Groups, Vars: vars}
	return &modules.Result{AddHosts: []modules.NewHost{h}, Data: map[string]any{"add_host": map[string]any{"host_name": a.Name, "groups": []string(a.Groups), "host_vars": vars}}}, nil
}

var _ modules.RawArgs = (*AddHost)(nil)

package builtin

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "group_by", Summary: "Put the host into a group named by a key (e.g. by OS) for the following plays.",
		Example: "group_by:\n  key: os_{{ .ansible_distribution }}", New: func() modules.Module { return &GroupBy{} }})
}

// GroupBy puts the host into a group named by a key, for the rest of the
// run (Ansible's group_by).
type GroupBy struct {
	Key     string             `yaml:"key" doc:"the group's name (usually a template: os_{{ .ansible_distribution }})"`
	Parents modules.StringList `yaml:"parents" doc:"groups the new group belongs to"`
}

// ControllerOnly: group_by changes the inventory, not the host.
func (*GroupBy) ControllerOnly() {}

// Validate checks the key.
func (g *GroupBy) Validate() error {
	if strings.TrimSpace(g.Key) == "" {
		return errors.New("group_by: key is required")
	}
	return nil
}

// Run adds the host to the group (the runner applies it after the task).
func (g *GroupBy) Run(_ context.Context, env *modules.Env) (*modules.Result, error) {
	name, _ := env.Vars["inventory_hostname"].(string)
	group := regexp.MustCompile(`[^A-Za-z0-9_]`).ReplaceAllString(g.Key, "_") // Ansible's safe group names
	groups := append([]string{group}, g.Parents...)
	return &modules.Result{Msg: "in group " + group, Data: map[string]any{"add_group": group, "parent_groups": modules.AnyList(g.Parents)},
		AddHosts: []modules.NewHost{{Name: name, Groups: groups}}}, nil
}

var _ modules.ControllerOnly = (*GroupBy)(nil)

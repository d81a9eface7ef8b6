package builtin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "group", Summary: "Create, change or remove a local group.",
		Example: "group:\n  name: dba\n  gid: 2001", New: func() modules.Module { return &Group{} }})
}

// Group manages a local group (Ansible's group).
type Group struct {
	Name   string `yaml:"name" doc:"the group"`
	State  string `yaml:"state" doc:"present or absent" default:"present"`
	GID    *int   `yaml:"gid" doc:"group id"`
	System bool   `yaml:"system" doc:"a system group (new groups only)"`
}

// Validate checks the arguments.
func (g *Group) Validate() error {
	if g.Name == "" {
		return errors.New("group: name is required")
	}
	if g.State != "present" && g.State != "absent" {
		return fmt.Errorf("group: state must be present or absent, got %q", g.State)
	}
	return nil
}

// Run creates, changes or removes the group.
func (g *Group) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	q := modules.Quote(g.Name)
	r, err := modules.RunOK(ctx, env.Host, "getent group "+q+" || true", "getent group")
	if err != nil {
		return nil, err
	}
	f := strings.Split(strings.TrimSpace(r.Stdout), ":")
	exists := len(f) >= 3
	res := &modules.Result{Data: map[string]any{"name": g.Name, "state": g.State}}
	var cmd string
	switch {
	case g.State == "absent" && exists:
		cmd = "groupdel " + q
	case g.State == "present" && !exists:
		cmd = "groupadd"
		if g.System {
			cmd += " -r"
		}
		if g.GID != nil {
			cmd += " -g " + strconv.Itoa(*g.GID)
		}
		cmd += " " + q
	case g.State == "present" && g.GID != nil && f[2] != strconv.Itoa(*g.GID):
		cmd = "groupmod -g " + strconv.Itoa(*g.GID) + " " + q
	}
	if exists {
		res.Data["gid"], _ = strconv.Atoi(f[2])
	}
	if cmd == "" {
		return res, nil
	}
	res.Changed, res.Msg = true, cmd
	res.Then(func(ctx context.Context) error {
		_, err = modules.RunOK(ctx, env.Host, cmd, strings.Fields(cmd)[0])
		return err
	})
	return res, nil
}

var _ modules.Validator = (*Group)(nil)

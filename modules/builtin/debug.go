package builtin

import (
	"context"
	"fmt"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "debug", Summary: "Print a message or a variable's value.",
		Example: "debug:\n  msg: \"primary is {{ .primary }}\"", New: func() modules.Module { return &Debug{} }})
}

// Debug prints a message or a variable.
type Debug struct {
	Msg       any    `yaml:"msg" doc:"what to print (templated)"`
	Verbosity int    `yaml:"verbosity" doc:"accepted for Ansible playbooks: runbook always shows the message"`
	Var       string `yaml:"var" doc:"name of a variable to print, dotted paths allowed"`
}

// ControllerOnly: debug does not touch the host.
func (*Debug) ControllerOnly() {}

// Run prints.
func (d *Debug) Run(_ context.Context, env *modules.Env) (*modules.Result, error) {
	if d.Var != "" {
		v, ok := Lookup(env.Vars, d.Var)
		if !ok {
			return modules.Failf("variable %q is not defined", d.Var), nil
		}
		return &modules.Result{Msg: fmt.Sprintf("%s = %v", d.Var, v), Data: map[string]any{d.Var: v}}, nil
	}
	msg := fmt.Sprint(d.Msg)
	if d.Msg == nil {
		msg = "Hello world!"
	}
	return &modules.Result{Msg: msg, Data: map[string]any{"msg": d.Msg}}, nil
}

// Lookup finds a dotted path in vars.
func Lookup(vars map[string]any, path string) (any, bool) {
	var cur any = vars
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

var _ modules.ControllerOnly = (*Debug)(nil)

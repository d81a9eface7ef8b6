package builtin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/runbook-lab/runbook/internal/cond"
	"github.com/runbook-lab/runbook/modules"
)

// Debug prints a message or a variable.
type Debug struct {
	Msg       any    `yaml:"msg" doc:"what to print (templated)"`
	Verbosity int    `yaml:"verbosity" doc:"accepted for Ansible playbooks: runbook always shows the message"`
	Var       string `yaml:"var" doc:"name of a variable to print, dotted paths allowed"`
}

func init() {
	modules.Register(modules.Info{ID: "debug", Summary: "Print a message or a variable's value.",
		Example: "debug:\n  msg: \"primary is {{ .primary }}\"", New: func() modules.Module { return &Debug{} }})
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

// Assert fails when a condition does not hold.
type Assert struct {
	That       modules.StringList `yaml:"that" doc:"expressions that must all be true"`
	FailMsg    string             `yaml:"fail_msg" doc:"message when one is false"`
	Msg        string             `yaml:"msg" doc:"the same as fail_msg (Ansible's alias)"`
	SuccessMsg string             `yaml:"success_msg" doc:"message when all are true"`
	Quiet      bool               `yaml:"quiet" doc:"print nothing on success"`
}

func init() {
	modules.Register(modules.Info{ID: "assert", Summary: "Fail unless every expression is true.",
		Example: "assert:\n  that:\n    - repl.sync_state == \"sync\"\n  fail_msg: postgres2 is not synchronous", New: func() modules.Module { return &Assert{} }})
}

// ControllerOnly: assert does not touch the host.
func (*Assert) ControllerOnly() {}

// Validate checks the expressions' syntax.
func (a *Assert) Validate() error {
	if len(a.That) == 0 {
		return errors.New("assert: that is required")
	}
	for _, e := range a.That {
		if err := cond.Check(e); err != nil {
			return fmt.Errorf("assert: bad expression %q: %v", e, err)
		}
	}
	return nil
}

// Run evaluates.
func (a *Assert) Run(_ context.Context, env *modules.Env) (*modules.Result, error) {
	for _, e := range a.That {
		ok, err := cond.Eval(e, env.Vars)
		if err != nil {
			return nil, fmt.Errorf("assert %q: %w", e, err)
		}
		if !ok {
			msg := a.FailMsg
			if msg == "" {
				msg = a.Msg
			}
			if msg == "" {
				msg = "assertion failed: " + e
			}
			return &modules.Result{Failed: true, Msg: msg, Data: map[string]any{"assertion": e}}, nil
		}
	}
	msg := a.SuccessMsg
	if msg == "" && !a.Quiet {
		msg = "all assertions passed"
	}
	return &modules.Result{Msg: msg}, nil
}

// Fail fails the host with a message.
type Fail struct {
	// a string, or (as Ansible allows) a list or mapping, shown as JSON
	Msg any `yaml:"msg" doc:"the message: text, or a list or mapping" default:"failed as requested"`
}

func init() {
	modules.Register(modules.Info{ID: "fail", Summary: "Fail the host with a message (usually with when).",
		Example: "fail:\n  msg: postgres1 is still primary\nwhen: role == \"primary\"", New: func() modules.Module { return &Fail{Msg: "failed as requested"} }})
}

// ControllerOnly: fail does not touch the host.
func (*Fail) ControllerOnly() {}

// Run fails.
func (f *Fail) Run(context.Context, *modules.Env) (*modules.Result, error) {
	msg, ok := f.Msg.(string)
	if !ok {
		b, _ := json.Marshal(f.Msg)
		msg = string(b)
	}
	return &modules.Result{Failed: true, Msg: msg}, nil
}

// SetFact sets host variables for the rest of the run.
type SetFact struct{ vars map[string]any }

func init() {
	modules.Register(modules.Info{ID: "set_fact", Summary: "Set variables on the host for the rest of the run (any names).",
		Example: "set_fact:\n  primary: postgres2", New: func() modules.Module { return &SetFact{} }})
}

// ControllerOnly: set_fact does not touch the host.
func (*SetFact) ControllerOnly() {}

// SetRaw takes the rendered arguments.
func (s *SetFact) SetRaw(args map[string]any) error {
	delete(args, "cacheable") // Ansible's fact cache switch: runbook keeps facts for the run
	if len(args) == 0 {
		return errors.New("set_fact: give at least one name: value")
	}
	s.vars = args
	return nil
}

// Run sets the facts.
func (s *SetFact) Run(context.Context, *modules.Env) (*modules.Result, error) {
	return &modules.Result{Facts: s.vars, Data: map[string]any{"ansible_facts": s.vars}}, nil
}

var (
	_ modules.ControllerOnly = (*Debug)(nil)
	_ modules.Validator      = (*Assert)(nil)
	_ modules.RawArgs        = (*SetFact)(nil)
)

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

func init() {
	modules.Register(modules.Info{ID: "add_host", Summary: "Add a host (and its groups and variables) to the running inventory for the following plays.",
		Example: "add_host:\n  name: postgres1\n  groups: [lab]\n  ansible_host: 192.168.100.11", New: func() modules.Module { return &AddHost{} }})
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

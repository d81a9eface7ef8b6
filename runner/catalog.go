// Package runner plans and executes plays: it selects hosts, composes their
// variables, renders task arguments, runs modules on connections with the
// linear strategy, runs handlers, and reports events to an Output.
package runner

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/runbook-lab/runbook/internal/diag"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/playbooks"
	"github.com/runbook-lab/runbook/templates"
)

// Catalog adapts a module registry to what the playbook loader needs.
type Catalog struct{ Reg *modules.Registry }

// IDs lists module IDs.
func (c Catalog) IDs() []string { return c.Reg.IDs() }

// Has reports whether a module exists (by its ID or its Ansible name).
func (c Catalog) Has(id string) bool { _, ok := c.Reg.Lookup(id); return ok }

// Canonical is the module ID for a name as written (ansible.builtin.copy
// is copy, template is file_template).
func (c Catalog) Canonical(name string) string { return c.Reg.Canonical(name) }

// FreeFormArg names the argument a free-form string fills, or "".
func (c Catalog) FreeFormArg(id string) string {
	info, _ := c.Reg.Lookup(id)
	if ff, ok := info.New().(modules.FreeForm); ok {
		return ff.FreeFormArg()
	}
	return ""
}

// ValidateArgs decodes arguments strictly into the module's type; values
// that are templates are checked at run time, after rendering. When no
// argument is a template the module's own Validate runs too.
func (c Catalog) ValidateArgs(src *diag.Source, id string, args *yaml.Node) error {
	id = c.Reg.Canonical(id)
	info, _ := c.Reg.Lookup(id)
	m := info.New()
	args, _ = ansibleOnly(c.Reg, id, args, m)
	if raw, ok := m.(modules.RawArgs); ok {
		if args.Kind != yaml.MappingNode {
			return diag.Node(src, args, "%s: expected a mapping", id)
		}
		var plain map[string]any
		if !hasTemplate(args) && args.Decode(&plain) == nil {
			if err := raw.SetRaw(plain); err != nil {
				return diag.Node(src, args, "%v", err)
			}
		}
		return nil
	}
	templated := false
	skip := func(n *yaml.Node) bool {
		if templates.Has(n.Value) {
			templated = true
			return true
		}
		return false
	}
	if err := diag.DecodeStrict(src, args, m, id, skip); err != nil {
		return err
	}
	if err := checkRanges(src, id, args, m); err != nil {
		return err
	}
	if v, ok := m.(modules.Validator); ok && !templated {
		if err := v.Validate(); err != nil {
			return diag.Node(src, args, "%v", err)
		}
	}
	return nil
}

var _ playbooks.Catalog = Catalog{}

// checkRanges refuses, for every module alike, literal values no host can
// take: a port outside 1-65535, a negative timeout, delay, sleep or count.
// (Templated values are checked after rendering, by the same rule.)
func checkRanges(src *diag.Source, id string, args *yaml.Node, m modules.Module) error {
	v := reflect.ValueOf(m)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	fields := diag.FieldsByTag(v.Elem().Type())
	for i := 0; i+1 < len(args.Content); i += 2 {
		k, val := args.Content[i], args.Content[i+1]
		idx, ok := fields[k.Value]
		if !ok || templates.Has(val.Value) {
			continue
		}
		f := v.Elem().FieldByIndex(idx)
		var n float64
		switch f.Kind() {
		case reflect.Int, reflect.Int64, reflect.Int32:
			n = float64(f.Int())
		case reflect.Float64, reflect.Float32:
			n = f.Float()
		default:
			continue
		}
		name := k.Value
		switch {
		case name == "port" || strings.HasSuffix(name, "_port"):
			if n < 1 || n > 65535 {
				return diag.Node(src, val, "%s: %s: expected a TCP port from 1 to 65535, got %s", id, name, val.Value)
			}
		case strings.Contains(name, "timeout") || name == "delay" || name == "sleep" || name == "retries":
			if n < 0 {
				return diag.Node(src, val, "%s: %s: expected 0 or more, got %s", id, name, val.Value)
			}
		}
	}
	return nil
}

// buildModule renders a task's arguments for one host and decodes them into
// a fresh module value.
func buildModule(reg *modules.Registry, t *playbooks.Task, vars map[string]any) (modules.Module, map[string]any, error) {
	if t.Python != nil {
		rendered, err := renderNode(t.Args, vars)
		if err != nil {
			return nil, nil, err
		}
		var plain map[string]any
		if err := rendered.Decode(&plain); err != nil {
			return nil, nil, err
		}
		m := &modules.Python{Src: *t.Python}
		return m, plain, m.SetRaw(plain)
	}
	info, ok := reg.Lookup(t.Module)
	if !ok {
		return nil, nil, fmt.Errorf("unknown module %q", t.Module)
	}
	rendered, err := renderNode(t.Args, vars)
	if err != nil {
		return nil, nil, err
	}
	m := info.New()
	var plain map[string]any
	if err := rendered.Decode(&plain); err != nil {
		return nil, nil, err
	}
	if raw, ok := m.(modules.RawArgs); ok {
		return m, plain, raw.SetRaw(plain)
	}
	rendered, refused := ansibleOnly(reg, t.Module, rendered, m)
	if len(refused) > 0 {
		return nil, nil, refusedArgs(t.Module, refused)
	}
	if err := diag.DecodeStrict(t.At.Src, rendered, m, t.Module, nil); err != nil {
		return nil, nil, err
	}
	if v, ok := m.(modules.Validator); ok {
		if err := v.Validate(); err != nil {
			return nil, nil, err
		}
	}
	return m, plain, nil
}

// renderNode copies a node tree with every templated scalar rendered. A
// scalar that is exactly one variable reference becomes that variable's
// value (a list stays a list).
func renderNode(n *yaml.Node, vars map[string]any) (*yaml.Node, error) {
	if n == nil {
		return nil, nil
	}
	if n.Kind == yaml.AliasNode {
		return renderNode(n.Alias, vars)
	}
	out := *n
	if n.Kind == yaml.ScalarNode {
		if !templates.Has(n.Value) {
			return &out, nil
		}
		if v, ok, err := templates.Native(n.Value, vars); ok {
			if err != nil {
				return nil, err
			}
			if _, isStr := v.(string); !isStr {
				var enc yaml.Node
				if err := enc.Encode(v); err != nil {
					return nil, err
				}
				enc.Line, enc.Column = n.Line, n.Column
				if enc.Kind == yaml.ScalarNode {
					// a typed value from a variable, not a literal: an int
					// mode from `file_mode: 0640` is the number 416 (0o640),
					// as in Ansible, not the octal digits "416"
					enc.Style |= yaml.TaggedStyle
				}
				return &enc, nil
			}
		}
		s, err := templates.Render("", n.Value, vars)
		if err != nil {
			return nil, err
		}
		out.Value = s
		out.Tag, out.Style = "", 0
		if out.Tag = resolvedTag(s); out.Tag == "" {
			out.Tag = "!!str"
		}
		return &out, nil
	}
	out.Content = make([]*yaml.Node, 0, len(n.Content))
	for i, c := range n.Content {
		r, err := renderNode(c, vars)
		if err != nil {
			return nil, err
		}
		if n.Kind == yaml.MappingNode && i%2 == 1 && r.Kind == yaml.ScalarNode && r.Value == templates.Omit {
			out.Content = out.Content[:len(out.Content)-1] // default(omit): the argument is left out
			continue
		}
		out.Content = append(out.Content, r)
	}
	return &out, nil
}

// resolvedTag types a rendered value as YAML would (so "5432" can fill an
// int argument) but keeps anything multi-line or odd a string.
func resolvedTag(s string) string {
	var n yaml.Node
	if len(s) > 64 || yaml.Unmarshal([]byte(s), &n) != nil || len(n.Content) != 1 {
		return "!!str"
	}
	c := n.Content[0]
	if c.Kind != yaml.ScalarNode || c.Value != s {
		return "!!str"
	}
	switch c.Tag {
	case "!!int", "!!float", "!!bool":
		return c.Tag
	}
	return "!!str"
}

// hasTemplate says whether any scalar under n is a template (checked when
// the task runs, after rendering).
func hasTemplate(n *yaml.Node) bool {
	if n.Kind == yaml.ScalarNode {
		return templates.Has(n.Value)
	}
	for _, c := range n.Content {
		if hasTemplate(c) {
			return true
		}
	}
	return false
}

// ignorableArgs are Ansible arguments whose only effect runbook has anyway
// (it always writes files atomically), so any value is accepted.
var ignorableArgs = map[string]bool{"unsafe_writes": true}

// retiredArgs are arguments older Ansible documented and later removed
// while they only ever changed a warning (command's and shell's warn, gone
// in ansible-core 2.14): many public roles still write them, so they are
// taken and dropped.
var retiredArgs = map[string]map[string]bool{"command": {"warn": true}, "shell": {"warn": true}}

// ansibleOnly takes out of a task's arguments those Ansible documents for
// the module and runbook's module lacks: a value that is the documented
// default changes nothing and is dropped; any other value is returned in
// refused, for the run to fail with (the load accepts it: a role that sets
// it on a path never taken still runs).
func ansibleOnly(reg *modules.Registry, id string, args *yaml.Node, m modules.Module) (*yaml.Node, []string) {
	if args == nil || args.Kind != yaml.MappingNode {
		return args, nil
	}
	v := reflect.ValueOf(m)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return args, nil
	}
	fields := diag.FieldsByTag(v.Elem().Type())
	var kept []*yaml.Node
	var refused []string
	renamed := false
	for i := 0; i+1 < len(args.Content); i += 2 {
		k, val := args.Content[i], args.Content[i+1]
		if _, ok := fields[k.Value]; !ok {
			// an alias Ansible documents for an argument runbook has
			// (apt's update-cache is update_cache)
			if to := aliasOf(reg, id, k.Value); to != "" {
				if _, isField := fields[to]; isField {
					alias := *k
					alias.Value, k, renamed = to, &alias, true
				}
			}
		}
		if _, ok := fields[k.Value]; !ok && retiredArgs[reg.Canonical(id)][k.Value] {
			continue
		}
		if _, ok := fields[k.Value]; !ok {
			var spec modules.AnsibleArgSpec
			documented := false
			for _, name := range ansibleNames(reg, id) {
				if spec, documented = modules.AnsibleArg(name, k.Value); documented {
					break
				}
			}
			if documented {
				var x any
				val.Decode(&x)
				if !spec.IsDefault(x) && !ignorableArgs[k.Value] && !templates.Has(val.Value) {
					refused = append(refused, fmt.Sprintf("%s: %v", k.Value, x))
				}
				continue
			}
		}
		kept = append(kept, k, val)
	}
	if len(kept) == len(args.Content) && !renamed {
		return args, nil
	}
	out := *args
	out.Content = kept
	return &out, refused
}

// aliasOf is the argument an Ansible alias of a module's stands for, or "".
func aliasOf(reg *modules.Registry, id, arg string) string {
	for _, name := range ansibleNames(reg, id) {
		if spec, ok := modules.AnsibleArg(name, arg); ok && spec.AliasOf != "" {
			return spec.AliasOf
		}
	}
	return ""
}

// ansibleNames are the Ansible modules a runbook module stands for (its own
// name, and those it is the canonical module of: template is file_template).
func ansibleNames(reg *modules.Registry, id string) []string {
	id = reg.Canonical(id)
	names := []string{id}
	for _, n := range modules.AnsibleModuleNames() {
		if n != id && reg.Canonical(n) == id {
			names = append(names, n)
		}
	}
	if id == "package" {
		// Ansible's package hands what it does not know to the host's
		// manager: apt's and dnf's arguments are package's too
		names = append(names, "apt", "dnf", "yum")
	}
	return names
}

// refusedArgs is the error for Ansible arguments runbook does not implement.
func refusedArgs(id string, refused []string) error {
	return fmt.Errorf("%s: runbook does not implement Ansible's %s (the documented default, or leaving it out, works)", id, strings.Join(refused, ", "))
}

package runner

import (
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/runbook-lab/runbook/templates"
)

// composeVars builds a host's variables for a task, lowest precedence
// first: magic variables, play vars, inventory (group, then host), facts
// and registered results, block and task vars, extra vars. String values
// that are templates are rendered against the result (twice, so a variable
// may refer to one that refers to another).
//
// The first layer is the magic variables: shared, read-only views of the
// whole run (hostvars, groups) that are not walked for templates, which
// would cost O(hosts) per host and task.
// composeVarsLazy also returns the variables left out because they could
// not be rendered, with why.
func composeVarsLazy(magic map[string]any, layers ...map[string]any) (map[string]any, brokenVars) {
	broken := brokenVars{}
	size := len(magic)
	for _, l := range layers {
		size += len(l)
	}
	out := make(map[string]any, size)
	maps.Copy(out, magic)
	for _, l := range layers {
		maps.Copy(out, l)
	}
	for pass := 0; pass < 2; pass++ {
		for k, v := range out {
			if mv, isMagic := magic[k]; isMagic && sameRef(mv, v) {
				continue
			}
			if !containsTemplate(v) {
				continue
			}
			r, err := renderValue(v, out)
			if err != nil {
				if pass == 0 {
					continue
				}
				// as in Ansible, a variable is an error only where it is
				// used: a block's vars for a branch that is skipped must
				// not fail it. Left out, a use says "undefined variable".
				delete(out, k)
				broken[k] = err
				continue
			}
			out[k] = r
		}
	}
	return out, broken
}

// brokenVars are the variables that could not be rendered, with why.
type brokenVars map[string]error

var undefinedRE = regexp.MustCompile(`undefined variable "([^"]+)"`)

// explain adds why a variable is undefined when it could not be computed.
func (b brokenVars) explain(err error) error {
	if err == nil || len(b) == 0 {
		return err
	}
	if m := undefinedRE.FindStringSubmatch(err.Error()); m != nil {
		if why, ok := b[m[1]]; ok {
			return fmt.Errorf("%w (variable %q could not be computed: %v)", err, m[1], why)
		}
	}
	return err
}

// sameRef reports whether a magic variable was left as it was (not
// overridden by a layer above), comparing maps and slices by identity.
func sameRef(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		return ok && len(x) == len(y) && (len(x) == 0 || reflect.ValueOf(x).UnsafePointer() == reflect.ValueOf(y).UnsafePointer())
	case []any:
		y, ok := b.([]any)
		return ok && len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0])
	}
	return false // scalars: cheap to look at
}

func containsTemplate(v any) bool {
	switch x := v.(type) {
	case string:
		return templates.Has(x)
	case []any:
		for _, e := range x {
			if containsTemplate(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if containsTemplate(e) {
				return true
			}
		}
	}
	return false
}

// renderValue renders every string in a value; a string that is exactly
// one variable reference takes that variable's own value.
func renderValue(v any, vars map[string]any) (any, error) {
	switch x := v.(type) {
	case string:
		if nv, ok, err := templates.Native(x, vars); ok {
			return nv, err
		}
		s, err := templates.Render("", x, vars)
		if err != nil || s == x {
			return s, err
		}
		// a template that renders to true/false or a number is that value,
		// so `when: switchover` works on '{{ eq .a .b }}'
		switch resolvedTag(s) {
		case "!!bool":
			return s == "true", nil
		case "!!int":
			var n yaml.Node
			var i int
			if yaml.Unmarshal([]byte(s), &n) == nil && n.Content[0].Decode(&i) == nil {
				return i, nil
			}
		}
		return s, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := renderValue(e, vars)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := renderValue(e, vars)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

// SecretName says whether a variable's name marks its value as a secret:
// such values are masked in all output (results, diffs, warnings, JSON,
// `inventory --list`).
func SecretName(name string) bool {
	n := strings.ToLower(name)
	if strings.HasSuffix(n, "_file") || strings.HasSuffix(n, "_path") {
		return false
	}
	for _, s := range []string{"password", "passwd", "passphrase", "secret", "token", "private_key", "api_key", "apikey", "credential"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// redactor replaces secret values in text. Values are collected as they
// become known: given at the start (passwords, extra vars, inventory), and
// rendered (a secret-named variable whose value is a template, task and
// block vars) each time a task's variables are composed.
type redactor struct {
	mu     sync.RWMutex
	seen   map[string]bool
	values []string
}

func (r *redactor) add(v any) {
	s, ok := v.(string)
	if !ok || len(s) < 3 || templates.Has(s) {
		return
	}
	r.mu.RLock()
	known := r.seen[s]
	r.mu.RUnlock()
	if known {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	if !r.seen[s] {
		r.seen[s] = true
		// longest first, so a secret containing another is masked whole
		r.values = append(r.values, s)
		sort.Slice(r.values, func(i, j int) bool { return len(r.values[i]) > len(r.values[j]) })
	}
}

// collect adds the values of secret-named variables in vars.
func (r *redactor) collect(vars map[string]any) {
	for k, v := range vars {
		if SecretName(k) {
			r.add(v)
		}
	}
}

func (r *redactor) text(s string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, v := range r.values {
		s = strings.ReplaceAll(s, v, "********")
	}
	return s
}

func (r *redactor) value(v any) any {
	switch x := v.(type) {
	case string:
		return r.text(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = r.value(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if SecretName(k) {
				out[k] = "********"
				continue
			}
			out[k] = r.value(e)
		}
		return out
	}
	return v
}

// collectArgs adds the rendered values of a no_log task's secret-named
// arguments (password, ...) and file contents, so they stay masked should
// another task print them. Other arguments (owner: postgres) are not
// secrets and masking them would garble every message.
func (r *redactor) collectArgs(n *yaml.Node, vars map[string]any) {
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		if v.Kind == yaml.ScalarNode && (SecretName(k) || k == "content") {
			if s, err := templates.Render("", v.Value, vars); err == nil {
				r.add(s)
			}
		} else {
			r.collectArgs(v, vars)
		}
	}
}

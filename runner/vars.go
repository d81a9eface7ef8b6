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

// A layer is one source of a host's variables. What the playbook's author
// wrote (play and role vars, inventory, block and task vars, extra vars) is
// template code and is rendered; what hosts and tasks produced (registered
// results, gathered facts, set_fact values, add_host's variables) is data
// and is never rendered again: a host that prints "{{ ... }}" gets exactly
// those bytes back, and cannot make the controller run template code.
type layer struct {
	vars     map[string]any
	data     bool            // every value of this layer is data
	dataKeys map[string]bool // these keys of an author layer are data
}

func code(v map[string]any) layer                             { return layer{vars: v} }
func data(v map[string]any) layer                             { return layer{vars: v, data: true} }
func codeExcept(v map[string]any, keys map[string]bool) layer { return layer{vars: v, dataKeys: keys} }

// maxRenderPasses bounds how deep author variables may refer to each other
// (a refers to b, which refers to c...).
const maxRenderPasses = 8

// composeVarsLazy builds a host's variables for a task, lowest precedence
// first: magic variables, then the layers in order. Author values that are
// templates are rendered against the result, pass after pass until nothing
// changes, so a variable may refer to one that refers to another. Each pass
// renders the author's original text, never a previous pass's output: what
// a template produced (which may hold a host's bytes) is not code.
//
// The first layer is the magic variables: shared, read-only views of the
// whole run (hostvars, groups) that are not walked for templates, which
// would cost O(hosts) per host and task. It also returns the variables
// left out because they could not be rendered, with why.
func composeVarsLazy(magic map[string]any, layers ...layer) (map[string]any, brokenVars) {
	size := len(magic)
	for _, l := range layers {
		size += len(l.vars)
	}
	out := make(map[string]any, size)
	maps.Copy(out, magic)
	src := map[string]any{} // author templates by name, of the layer that wins
	for _, l := range layers {
		for k, v := range l.vars {
			out[k] = v
			if !l.data && !l.dataKeys[k] && containsTemplate(v) {
				src[k] = v
			} else {
				delete(src, k)
			}
		}
	}
	failed := map[string]error{}
	// a variable computed from itself (x: "{{ x }}/bin", or a -> b -> a)
	// has no value: Ansible says "recursive loop detected"; rendering it
	// pass after pass left the template's own text as its value
	deps := dependencies(src)
	for k, chain := range selfReferences(src, deps) {
		failed[k] = fmt.Errorf("it is computed from itself (%s)", chain)
		delete(src, k)
	}
	// each variable after the ones it names, so one pass gets every value
	// right (in map order a chain deeper than the passes kept a template's
	// raw text in its value); further passes catch what is named
	// indirectly (hostvars, lookup('vars')) and stop when nothing changes
	order := renderOrder(src, deps)
	for pass := 0; pass < maxRenderPasses && len(order) > 0; pass++ {
		changed := false
		for _, k := range order {
			r, err := renderValue(src[k], out)
			if err != nil {
				if failed[k] == nil {
					changed = true
				}
				failed[k] = err
				delete(out, k) // its users fail naming it, not with its raw text
				continue
			}
			if failed[k] != nil {
				delete(failed, k)
				changed = true
			}
			if !changed && !reflect.DeepEqual(out[k], r) {
				changed = true
			}
			out[k] = r
		}
		if !changed {
			break
		}
	}
	// as in Ansible, a variable is an error only where it is used: a
	// block's vars for a branch that is skipped must not fail it. Left
	// out, a use says "undefined variable", with this reason.
	broken := brokenVars{}
	for k, err := range failed {
		delete(out, k)
		broken[k] = err
	}
	return out, broken
}

// selfReferences finds the author templates that reach their own name
// through the others: each such name with its chain (a -> b -> a).
func selfReferences(src map[string]any, uses map[string][]string) map[string]string {
	out := map[string]string{}
	for k := range src {
		// depth-first from k, looking for a way back to k
		seen := map[string]bool{}
		var path []string
		var back func(n string) bool
		back = func(n string) bool {
			path = append(path, n)
			for _, m := range uses[n] {
				if m == k {
					path = append(path, m)
					return true
				}
				if !seen[m] {
					seen[m] = true
					if back(m) {
						return true
					}
				}
			}
			path = path[:len(path)-1]
			return false
		}
		if back(k) {
			out[k] = strings.Join(path, " -> ")
		}
	}
	return out
}

// dependencies maps each author template to the others it names, sorted.
func dependencies(src map[string]any) map[string][]string {
	uses := make(map[string][]string, len(src))
	for k, v := range src {
		for n := range valueUses(v) {
			if _, ok := src[n]; ok {
				uses[k] = append(uses[k], n)
			}
		}
		sort.Strings(uses[k])
	}
	return uses
}

// renderOrder lists src's names, each after the names it uses.
func renderOrder(src map[string]any, uses map[string][]string) []string {
	names := make([]string, 0, len(src))
	for k := range src {
		names = append(names, k)
	}
	sort.Strings(names)
	order := make([]string, 0, len(names))
	done := map[string]bool{}
	var visit func(k string)
	visit = func(k string) {
		if done[k] {
			return
		}
		done[k] = true
		for _, d := range uses[k] {
			if _, ok := src[d]; ok {
				visit(d)
			}
		}
		order = append(order, k)
	}
	for _, k := range names {
		visit(k)
	}
	return order
}

// valueUses is every variable the templates in a value read.
func valueUses(v any) map[string]bool {
	switch x := v.(type) {
	case string:
		return templates.Uses(x)
	case []any:
		all := map[string]bool{}
		for _, e := range x {
			maps.Copy(all, valueUses(e))
		}
		return all
	case map[string]any:
		all := map[string]bool{}
		for _, e := range x {
			maps.Copy(all, valueUses(e))
		}
		return all
	}
	return nil
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
			// down the chain to the first cause: v19 -> v18 -> ... -> the
			// one too large (each name once)
			seen := map[string]bool{m[1]: true}
			for cause := why; ; {
				n := undefinedRE.FindStringSubmatch(cause.Error())
				if n == nil || seen[n[1]] || b[n[1]] == nil {
					break
				}
				seen[n[1]], cause = true, b[n[1]]
				why = fmt.Errorf("%v, which could not be computed: %v", why, cause)
			}
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
	// vaulted gives the values opened from Ansible Vault so far (a
	// templated vars_file can be opened mid-run): each is masked too
	vaulted     func() []string
	vaultedSeen int // how many of vaulted()'s values are added already
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
	if r.vaulted != nil {
		// the keyring only grows: add what it opened since the last call
		r.mu.RLock()
		seen := r.vaultedSeen
		r.mu.RUnlock()
		if opened := r.vaulted(); len(opened) > seen {
			for _, v := range opened[seen:] {
				r.add(v)
			}
			r.mu.Lock()
			r.vaultedSeen = max(r.vaultedSeen, len(opened))
			r.mu.Unlock()
		}
	}
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

// collectArgs adds the rendered values of a task's secret-named arguments
// (password, ...) and, for a no_log task, its file contents, so they stay
// masked wherever they would show (a diff, another task's output). Other arguments (owner: postgres) are not
// secrets and masking them would garble every message.
func (r *redactor) collectArgs(n *yaml.Node, vars map[string]any, contents bool) {
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		if v.Kind == yaml.ScalarNode && (SecretName(k) || contents && k == "content") {
			if s, err := templates.Render("", v.Value, vars); err == nil {
				r.add(s)
			}
		} else {
			r.collectArgs(v, vars, contents)
		}
	}
}

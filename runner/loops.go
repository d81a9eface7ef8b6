package runner

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/runbook-lab/runbook/internal/diag"
	"github.com/runbook-lab/runbook/playbooks"
	"github.com/runbook-lab/runbook/templates"
)

// The loop keywords: loop and the with_* lookups Ansible playbooks use,
// each expanded to the list of items the task runs once per item.

// loopItems evaluates a task's loop: a YAML list (items templated) or a
// template naming a list.
func loopItems(t *playbooks.Task, vars map[string]any) ([]any, bool, error) {
	if t.Loop == nil {
		return nil, false, nil
	}
	n, err := renderNode(t.Loop, vars)
	if err != nil {
		return nil, true, err
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		parsed, err := diag.ParseYAML(&diag.Source{Name: "loop", Text: []byte(n.Value)})
		if err != nil || len(parsed.Content) == 0 {
			return nil, true, fmt.Errorf("expected a list, got %q", shorten(n.Value, 200))
		}
		n = parsed.Content[0]
	}
	switch t.LoopKind {
	case "dict":
		return dictItems(n)
	case "first_found":
		return firstFound(t, n)
	case "sequence":
		return sequenceItems(n)
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, true, err
	}
	var items []any
	switch x := v.(type) {
	case []any:
		items = x
	case nil:
		return nil, true, nil
	case map[string]any:
		return nil, true, fmt.Errorf("expected a list, got a mapping (with_dict, or dict2items-style lists)")
	default:
		if t.LoopKind == "" {
			return nil, true, fmt.Errorf("expected a list, got %v", v)
		}
		items = []any{x} // with_items: a single value is a list of one
	}
	switch t.LoopKind {
	case "items":
		// with_items flattens one level, as Ansible's
		var flat []any
		for _, it := range items {
			if l, ok := it.([]any); ok {
				flat = append(flat, l...)
			} else {
				flat = append(flat, it)
			}
		}
		return flat, true, nil
	case "flattened":
		// with_flattened (community.general's flattened lookup): lists to any depth
		var flat []any
		var walk func(v any)
		walk = func(v any) {
			if l, ok := v.([]any); ok {
				for _, x := range l {
					walk(x)
				}
				return
			}
			flat = append(flat, v)
		}
		walk(items)
		return flat, true, nil
	case "indexed_items":
		out := make([]any, len(items))
		for i, it := range items {
			out[i] = []any{i, it}
		}
		return out, true, nil
	case "fileglob":
		return globItems(t, items)
	case "nested":
		return nestedItems(items)
	case "together":
		return togetherItems(items)
	case "subelements":
		return subelementItems(items)
	}
	return items, true, nil
}

// dictItems is with_dict: {key, value} per entry, in the mapping's order.
func dictItems(n *yaml.Node) ([]any, bool, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, true, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, true, fmt.Errorf("with_dict: expected a mapping, got %s", diag.KindName(n))
	}
	var out []any
	for i := 0; i+1 < len(n.Content); i += 2 {
		var v any
		if err := n.Content[i+1].Decode(&v); err != nil {
			return nil, true, err
		}
		out = append(out, map[string]any{"key": n.Content[i].Value, "value": v})
	}
	return out, true, nil
}

// globItems is with_fileglob: files on the machine running runbook that
// match each pattern, looked for in the role's files/ and folder, then in
// the task file's (templates.FileGlob).
func globItems(t *playbooks.Task, patterns []any) ([]any, bool, error) {
	var pats []string
	for _, p := range patterns {
		pats = append(pats, fmt.Sprint(p))
	}
	out, err := templates.FileGlob(pats, taskDirs(t)...)
	if err != nil {
		return nil, true, fmt.Errorf("with_fileglob: %v", err)
	}
	return out, true, nil
}

// firstFound is with_first_found: the first of the named files that
// exists on the machine running runbook (in the role's and the task
// file's folders, see templates.FirstFound), as a one-item loop.
func firstFound(t *playbooks.Task, n *yaml.Node) ([]any, bool, error) {
	var spec any
	if err := n.Decode(&spec); err != nil {
		return nil, true, err
	}
	p, err := templates.FirstFound(spec, taskDirs(t)...)
	if err != nil {
		return nil, true, fmt.Errorf("with_first_found: %w (looked in %s and their vars/, files/, templates/, tasks/)", err, strings.Join(taskDirs(t), ", "))
	}
	if p == "" {
		return nil, true, nil // skip: true
	}
	return []any{p}, true, nil
}

// nestedItems is with_nested: every combination, the first list outermost.
func nestedItems(lists []any) ([]any, bool, error) {
	// the product is counted before it is built: four lists of 1,000 are
	// 10^12 items, one clear error rather than a run that never ends
	total := 1
	for _, l := range lists {
		n := 1
		if ls, ok := l.([]any); ok {
			n = len(ls)
		}
		if n > 0 && total > templates.MaxItems/n {
			return nil, true, fmt.Errorf("with_nested: the lists make over %d combinations", templates.MaxItems)
		}
		total *= n
	}
	out := []any{[]any{}}
	for _, l := range lists {
		ls, ok := l.([]any)
		if !ok {
			ls = []any{l}
		}
		var next []any
		for _, prefix := range out {
			for _, e := range ls {
				next = append(next, append(append([]any{}, prefix.([]any)...), e))
			}
		}
		out = next
	}
	return out, true, nil
}

// togetherItems is with_together: the lists side by side (nil where one
// is shorter).
func togetherItems(lists []any) ([]any, bool, error) {
	longest := 0
	for _, l := range lists {
		if ls, ok := l.([]any); ok && len(ls) > longest {
			longest = len(ls)
		}
	}
	out := make([]any, longest)
	for i := range out {
		row := make([]any, len(lists))
		for j, l := range lists {
			if ls, ok := l.([]any); ok && i < len(ls) {
				row[j] = ls[i]
			}
		}
		out[i] = row
	}
	return out, true, nil
}

// subelementItems is with_subelements: [list, "key"] gives a pair
// (element, sub-element) for every sub-element under key.
func subelementItems(args []any) ([]any, bool, error) {
	if len(args) < 2 {
		return nil, true, fmt.Errorf("with_subelements: expected [list, key]")
	}
	l, _ := args[0].([]any)
	key := fmt.Sprint(args[1])
	var out []any
	for _, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, true, fmt.Errorf("with_subelements: %v is not a mapping", e)
		}
		subs, _ := m[key].([]any)
		for _, sub := range subs {
			out = append(out, []any{e, sub})
		}
	}
	return out, true, nil
}

// sequenceItems is with_sequence (templates.Sequence: start, end or count,
// stride, format, as key=value words or the short form 1-10/2:host%02d).
func sequenceItems(n *yaml.Node) ([]any, bool, error) {
	out, err := templates.Sequence(n.Value)
	if err != nil {
		return nil, true, fmt.Errorf("with_sequence: %v", err)
	}
	return out, true, nil
}

package diag

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DecodeStrict decodes a YAML mapping into the struct pointed to by out, field
// by field, so that an unknown key or a value of the wrong type is reported at
// its own line and column. yaml.v3's KnownFields does not reach into custom
// decoders, and re-encoding would lose positions, hence this.
// Scalars for which skip returns true (for example unrendered templates) are
// not type-checked.
func DecodeStrict(src *Source, n *yaml.Node, out any, what string, skip func(*yaml.Node) bool) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return Node(src, n, "%s: expected a mapping of arguments, got %s", what, KindName(n))
	}
	v := reflect.ValueOf(out).Elem()
	fields := FieldsByTag(v.Type())
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	seen := map[string]string{} // field -> the name it was given as
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		idx, ok := fields[k.Value]
		if !ok {
			return Node(src, k, "%s: unknown argument %q%s", what, k.Value, DidYouMean(k.Value, names))
		}
		field := fmt.Sprint(idx)
		if first, dup := seen[field]; dup {
			if first == k.Value {
				return Node(src, k, "%s: argument %q given twice", what, k.Value)
			}
			return Node(src, k, "%s: %q and %q are the same argument: give one", what, first, k.Value)
		}
		seen[field] = k.Value
		if skip != nil && containsSkipped(val, skip) {
			continue
		}
		f := v.FieldByIndex(idx)
		if err := val.Decode(f.Addr().Interface()); err != nil {
			return Node(src, val, "%s: argument %q: %s", what, k.Value, cleanTypeError(err))
		}
	}
	return nil
}

func containsSkipped(n *yaml.Node, skip func(*yaml.Node) bool) bool {
	if n.Kind == yaml.ScalarNode {
		return skip(n)
	}
	for _, c := range n.Content {
		if containsSkipped(c, skip) {
			return true
		}
	}
	return false
}

// FieldsByTag maps yaml tag names of a struct type to field indexes, and
// the names in a field's `aliases:"a,b"` tag too (Ansible's argument
// aliases: dest for path, pkg for name).
func FieldsByTag(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		parts := strings.Split(f.Tag.Get("yaml"), ",")
		tag := parts[0]
		if tag == "-" {
			continue
		}
		if len(parts) > 1 && parts[1] == "inline" && f.Type.Kind() == reflect.Struct {
			for k, idx := range FieldsByTag(f.Type) {
				out[k] = append(append([]int(nil), f.Index...), idx...)
			}
			continue
		}
		if tag == "" {
			tag = strings.ToLower(f.Name)
		}
		out[tag] = f.Index
		if al := f.Tag.Get("aliases"); al != "" {
			for _, a := range strings.Split(al, ",") {
				out[strings.TrimSpace(a)] = f.Index
			}
		}
	}
	return out
}

// KindName names a node's kind for messages.
func KindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return "a scalar " + strings.TrimPrefix(n.Tag, "!!") + " " + quoteShort(n.Value)
	}
	return "something else"
}

func quoteShort(s string) string {
	if len(s) > 30 {
		s = s[:30] + "..."
	}
	return `"` + s + `"`
}

func cleanTypeError(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "yaml: unmarshal errors:\n")
	s = strings.TrimSpace(s)
	if i := strings.Index(s, ": "); strings.HasPrefix(s, "line ") && i > 0 {
		s = s[i+2:]
	}
	return strings.ReplaceAll(s, "cannot unmarshal", "expected a different type: cannot decode")
}

// Duplicates finds a key written twice in any mapping under n and reports
// the second at its own line and column (yaml.v3 reports it, if at all,
// at the mapping's start).
func Duplicates(src *Source, n *yaml.Node) error {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.MappingNode {
		first := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.ScalarNode && k.Tag != "!!merge" {
				if f, dup := first[k.Value]; dup {
					return Node(src, k, "key %q given twice (first at line %d)", k.Value, f.Line)
				}
				first[k.Value] = k
			}
		}
	}
	if n.Kind == yaml.AliasNode {
		return nil
	}
	for _, c := range n.Content {
		if err := Duplicates(src, c); err != nil {
			return err
		}
	}
	return nil
}

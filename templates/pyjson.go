package templates

import (
	"encoding/json"
	"sort"
	"strings"
)

// pyJSON is Python's json.dumps: ", " and ": " between items (Ansible's
// to_json), keys in order.
func pyJSON(v any, indent int) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return "", err
	}
	var out strings.Builder
	writePyJSON(&out, generic, indent, 0)
	return out.String(), nil
}

func writePyJSON(b *strings.Builder, v any, indent, depth int) {
	nl := func(d int) {
		if indent > 0 {
			b.WriteString("\n" + strings.Repeat(" ", indent*d))
		}
	}
	sep := ", "
	if indent > 0 {
		sep = ","
	}
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[")
		for i, e := range x {
			if i > 0 {
				b.WriteString(sep)
			}
			nl(depth + 1)
			writePyJSON(b, e, indent, depth+1)
		}
		nl(depth)
		b.WriteString("]")
	case map[string]any:
		if len(x) == 0 {
			b.WriteString("{}")
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("{")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(sep)
			}
			nl(depth + 1)
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteString(": ")
			writePyJSON(b, x[k], indent, depth+1)
		}
		nl(depth)
		b.WriteString("}")
	default:
		eb, _ := json.Marshal(x)
		b.Write(eb)
	}
}

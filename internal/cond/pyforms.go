package cond

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/runbook-lab/runbook/internal/listops"
	"github.com/runbook-lab/runbook/internal/pyvalue"
)

// Python and Jinja forms that the expression language writes otherwise:
// an index written as an attribute (`item.1`), string and mapping methods
// (`path.split('/')`, `d.get('k', 0)`), and Jinja's ~, which joins both
// sides as strings.

// numericAttr is `.1` after a name or an index: Jinja's item.1 is item[1].
var numericAttr = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*|\])\.([0-9]+)\b`)

// pyIndexAttrs writes item.1 as item[1], outside strings.
func pyIndexAttrs(s string) string {
	return outsideStrings(s, func(code string) string {
		for {
			next := numericAttr.ReplaceAllString(code, "$1[$2]")
			if next == code {
				return code
			}
			code = next
		}
	})
}

// pyMethodNames are the methods conditions call on strings and mappings.
var pyMethodNames = map[string]bool{"split": true, "strip": true, "lstrip": true, "rstrip": true, "lower": true,
	"upper": true, "startswith": true, "endswith": true, "replace": true, "keys": true, "values": true, "items": true,
	"get": true, "join": true, "isdigit": true, "title": true, "capitalize": true, "count": true, "find": true}

// pyMethods writes `x.name(args)` as `py_method(x, "name", args)`; the
// receiver is the operand before the dot (a path, an index, a call, a
// string).
func pyMethods(s string) string {
	for n := 0; n < 100; n++ {
		dot, name, open := nextMethod(s)
		if dot < 0 {
			return s
		}
		end := matching(s, open)
		if end < 0 {
			return s // unclosed: the parser reports it
		}
		start := operandStart(s, dot)
		call := "py_method(" + s[start:dot] + `, "` + name + `"`
		if args := strings.TrimSpace(s[open+1 : end]); args != "" {
			call += ", " + args
		}
		s = s[:start] + call + ")" + s[end+1:]
	}
	return s
}

// nextMethod finds the first `.name(` outside strings with a known name
// right after an operand; dot is -1 when there is none.
func nextMethod(s string) (dot int, name string, open int) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\'':
			i = closingQuote(s, i)
		case c == '.' && i > 0 && (isWordByte(s[i-1]) || strings.ContainsRune(`)]"'`, rune(s[i-1]))):
			j := i + 1
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			if j < len(s) && s[j] == '(' && pyMethodNames[s[i+1:j]] {
				return i, s[i+1 : j], j
			}
		}
	}
	return -1, "", -1
}

// pyConcat writes Jinja's `a ~ b` as concat(a, b), left to right; the
// operands are what stands next to the tilde (filters are calls by then).
func pyConcat(s string) string {
	for n := 0; n < 100; n++ {
		t := -1
		for i := 0; i < len(s) && t < 0; i++ {
			switch s[i] {
			case '"', '\'':
				i = closingQuote(s, i)
			case '~':
				t = i
			}
		}
		if t < 0 {
			return s
		}
		start, end := operandStart(s, t), operandAfter(s, t+1)
		if start == t || end == t+1 {
			return s // a missing operand: the parser reports it
		}
		s = s[:start] + "concat(" + strings.TrimSpace(s[start:t]) + ", " + strings.TrimSpace(s[t+1:end]) + ")" + s[end:]
	}
	return s
}

// operandAfter is the end of the operand that starts at or after i: a
// string, a number or a name, with the calls, indexes and attributes that
// follow it, or a bracketed group.
func operandAfter(s string, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i < len(s) && (s[i] == '"' || s[i] == '\'') {
		i = min(closingQuote(s, i)+1, len(s))
	}
	for i < len(s) {
		switch c := s[i]; {
		case c == '(' || c == '[':
			end := matching(s, i)
			if end < 0 {
				return len(s)
			}
			i = end + 1
		case isWordByte(c) || c == '.':
			i++
		default:
			return i
		}
	}
	return i
}

// pyMethod calls a Python method by name on a string or a mapping.
func pyMethod(p ...any) (any, error) {
	if len(p) < 2 {
		return nil, fmt.Errorf("method call: expected a receiver and a name")
	}
	recv, name, args := p[0], fmt.Sprint(p[1]), p[2:]
	arg := func(i int, def string) string {
		if i < len(args) && args[i] != nil {
			return pyvalue.Str(args[i])
		}
		return def
	}
	if m, ok := recv.(map[string]any); ok {
		switch name {
		case "keys", "values", "items":
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			out := make([]any, 0, len(m))
			for _, k := range keys {
				out = append(out, map[string]any{"keys": k, "values": m[k], "items": []any{k, m[k]}}[name])
			}
			return out, nil
		case "get":
			if len(args) == 0 {
				return nil, fmt.Errorf(".get() needs a key")
			}
			if v, ok := m[pyvalue.Str(args[0])]; ok {
				return v, nil
			}
			if len(args) > 1 {
				return args[1], nil
			}
			return nil, nil
		}
		return nil, fmt.Errorf("a mapping has no method .%s() in conditions", name)
	}
	if name == "join" {
		l, err := listops.AsList(arg0(args))
		if err != nil {
			return nil, fmt.Errorf(".join(): %w", err)
		}
		parts := make([]string, len(l))
		for i, e := range l {
			parts[i] = pyvalue.Str(e)
		}
		return strings.Join(parts, pyvalue.Str(recv)), nil
	}
	s, ok := recv.(string)
	if !ok {
		return nil, fmt.Errorf(".%s(): expected a string, got %T", name, recv)
	}
	switch name {
	case "split":
		var parts []string
		if len(args) == 0 || args[0] == nil {
			parts = strings.Fields(s)
		} else {
			parts = strings.Split(s, arg(0, " "))
		}
		out := make([]any, len(parts))
		for i, x := range parts {
			out[i] = x
		}
		return out, nil
	case "strip":
		return strings.Trim(s, arg(0, " \t\n\r\v\f")), nil
	case "lstrip":
		return strings.TrimLeft(s, arg(0, " \t\n\r\v\f")), nil
	case "rstrip":
		return strings.TrimRight(s, arg(0, " \t\n\r\v\f")), nil
	case "lower":
		return strings.ToLower(s), nil
	case "upper":
		return strings.ToUpper(s), nil
	case "title", "capitalize":
		if s == "" {
			return s, nil
		}
		if name == "capitalize" {
			return strings.ToUpper(s[:1]) + strings.ToLower(s[1:]), nil
		}
		words := strings.Split(strings.ToLower(s), " ")
		for i, w := range words {
			if w != "" {
				words[i] = strings.ToUpper(w[:1]) + w[1:]
			}
		}
		return strings.Join(words, " "), nil
	case "startswith", "endswith":
		has := strings.HasPrefix
		if name == "endswith" {
			has = strings.HasSuffix
		}
		if l, ok := arg0(args).([]any); ok { // a tuple of prefixes
			for _, x := range l {
				if has(s, pyvalue.Str(x)) {
					return true, nil
				}
			}
			return false, nil
		}
		return has(s, arg(0, "")), nil
	case "replace":
		return strings.ReplaceAll(s, arg(0, ""), arg(1, "")), nil
	case "isdigit":
		return s != "" && strings.Trim(s, "0123456789") == "", nil
	case "count":
		return strings.Count(s, arg(0, "")), nil
	case "find":
		return strings.Index(s, arg(0, "")), nil
	}
	return nil, fmt.Errorf("a string has no method .%s() in conditions", name)
}

func arg0(args []any) any {
	if len(args) == 0 {
		return nil
	}
	return args[0]
}

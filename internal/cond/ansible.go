package cond

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/expr-lang/expr/builtin"

	"github.com/expr-lang/expr"

	"github.com/runbook-lab/runbook/internal/jinjatest"
	"github.com/runbook-lab/runbook/internal/listops"
	"github.com/runbook-lab/runbook/internal/looseversion"
	"github.com/runbook-lab/runbook/internal/pyre"
	"github.com/runbook-lab/runbook/internal/pyvalue"
	"github.com/runbook-lab/runbook/internal/truth"
)

// ansibleFuncs are the functions translate may call besides expr's own.
var ansibleFuncs = map[string]bool{"defined": true, "member": true, "default_": true, "default_v": true, "to_bool": true, "to_list": true,
	"is_changed": true, "is_failed": true, "is_failure": true, "is_succeeded": true, "is_success": true, "is_successful": true, "is_skipped": true, "is_skip": true, "is_change": true,
	"is_version": true, "is_version_compare": true, "is_none": true, "is_string": true, "is_number": true,
	"is_integer": true, "is_float": true, "is_boolean": true, "is_mapping": true, "is_iterable": true, "is_sequence": true,
	"is_match": true, "is_search": true, "is_regex": true, "is_truthy": true, "is_falsy": true, "regex_replace": true, "regex_search": true, "py_truth": true,
	"lookup": true, "difference": true, "union": true, "intersect": true, "symmetric_difference": true, "flatten": true,
	"py_method": true, "concat": true, "jselect": true, "jreject": true, "jselectattr": true, "jrejectattr": true, "jmap": true, "jmap_attr": true,
	"jfilter": true, "is_file": true, "is_directory": true, "is_dir": true, "is_link": true, "is_exists": true, "is_abs": true}

// Filters are the Jinja filters templates have, for conditions to call:
// one language for both (`x | dirname` works in a when: as in a template).
type Filters interface {
	Has(name string) bool
	Call(name string, operand any, args []any) (any, error)
}

var shared Filters

// SetFilters wires the templates' filters in (the runner does, at start).
func SetFilters(f Filters) { shared = f }

// options are the compile options of a condition evaluated against vars.
func options(vars map[string]any, extra expr.Option) []expr.Option {
	fn := func(name string, f func(p ...any) (any, error), types ...any) expr.Option {
		return expr.Function(name, f, types...)
	}
	result := func(key string, want bool) func(p ...any) (any, error) {
		return func(p ...any) (any, error) {
			m, ok := p[0].(map[string]any)
			if !ok {
				return false, fmt.Errorf("is %s: expected a registered result, got %T", strings.TrimPrefix(key, "is_"), p[0])
			}
			v := truthy(m[key])
			if key == "failed" && !v {
				v = truthy(m["unreachable"])
			}
			return v == want, nil
		}
	}
	kind := func(ok func(any) bool) func(p ...any) (any, error) {
		return func(p ...any) (any, error) { return ok(p[0]), nil }
	}
	match := func(anchored, full bool) func(p ...any) (any, error) {
		return func(p ...any) (any, error) {
			if len(p) < 2 {
				return false, fmt.Errorf("match/search: expected a pattern")
			}
			pat := fmt.Sprint(p[1])
			if full {
				pat = "^(?:" + pat + ")$"
			} else if anchored {
				pat = "^(?:" + pat + ")"
			}
			re, err := regexp.Compile(pat)
			if err != nil {
				return false, err
			}
			return re.MatchString(fmt.Sprint(p[0])), nil
		}
	}
	return []expr.Option{extra, defined(vars), memberOf, pyTruthFunc, expr.Patch(inPatch{}), expr.Patch(truthPatch{}),
		fn("default_", func(p ...any) (any, error) {
			path, _ := p[0].(string)
			if v, ok := lookup(vars, path); ok && v != nil {
				return v, nil
			}
			if len(p) > 1 {
				return p[1], nil
			}
			return "", nil
		}),
		fn("default_v", func(p ...any) (any, error) {
			if p[0] == nil && len(p) > 1 {
				return p[1], nil
			}
			return p[0], nil
		}),
		fn("to_bool", func(p ...any) (any, error) { return truthy(p[0]), nil }),
		// regex_replace(s, pattern, replacement): Python's \1 and \g<name>
		fn("jfilter", func(p ...any) (any, error) {
			if shared == nil || len(p) < 2 {
				return nil, fmt.Errorf("filter %v: not available here", p[0])
			}
			return shared.Call(fmt.Sprint(p[0]), p[1], p[2:])
		}),
		fn("regex_replace", regexReplace),
		// regex_search(s, pattern): the first match, or none
		fn("regex_search", regexSearch),
		fn("to_list", func(p ...any) (any, error) { return p[0], nil }),
		// lookup('varnames', re...) (the names of the variables matching)
		// and lookup('env', name...), the lookups conditions use
		fn("lookup", func(p ...any) (any, error) {
			if len(p) < 2 {
				return nil, fmt.Errorf("lookup: expected a plugin and a term")
			}
			var out []string
			switch kind := fmt.Sprint(p[0]); kind {
			case "varnames":
				for _, term := range p[1:] {
					re, err := regexp.Compile(fmt.Sprint(term))
					if err != nil {
						return nil, fmt.Errorf("lookup('varnames'): %w", err)
					}
					for name := range vars {
						if re.MatchString(name) {
							out = append(out, name)
						}
					}
				}
				sort.Strings(out)
			case "env":
				for _, term := range p[1:] {
					out = append(out, os.Getenv(fmt.Sprint(term)))
				}
			default:
				return nil, fmt.Errorf("lookup('%s'): conditions have the varnames and env lookups", kind)
			}
			return strings.Join(out, ","), nil // a lookup's terms joined, as Ansible's lookup() gives them
		}),
		fn("difference", listFilter(listops.Difference)), fn("union", listFilter(listops.Union)),
		fn("intersect", listFilter(listops.Intersect)), fn("symmetric_difference", listFilter(listops.SymmetricDifference)),
		fn("flatten", func(p ...any) (any, error) {
			l, err := listops.AsList(p[0])
			if err != nil {
				return nil, fmt.Errorf("flatten: %w", err)
			}
			levels := -1
			if len(p) > 1 {
				n, ok := p[1].(int)
				if !ok {
					return nil, fmt.Errorf("flatten: levels must be a number, got %v", p[1])
				}
				levels = n
			}
			return listops.Flatten(l, levels), nil
		}),
		// select/reject(test, args...) and selectattr/rejectattr(attr,
		// test, args...): Jinja's tests by name, as in templates
		fn("jselect", selectFilter(true, false)), fn("jreject", selectFilter(false, false)),
		fn("jselectattr", selectFilter(true, true)), fn("jrejectattr", selectFilter(false, true)),
		fn("jmap_attr", func(p ...any) (any, error) {
			l, err := listops.AsList(p[0])
			if err != nil || len(p) < 2 {
				return nil, fmt.Errorf("map(attribute=...): expected a list and an attribute")
			}
			out := make([]any, 0, len(l))
			for _, e := range l {
				v, ok := lookup(asMap(e), fmt.Sprint(p[1]))
				if !ok {
					return nil, fmt.Errorf("map: %v has no attribute %q", e, p[1])
				}
				out = append(out, v)
			}
			return out, nil
		}),
		fn("jmap", func(p ...any) (any, error) {
			l, err := listops.AsList(p[0])
			if err != nil || len(p) < 2 {
				return nil, fmt.Errorf("map: expected a list and a filter")
			}
			if rf, ok := map[string]func(...any) (any, error){"regex_search": regexSearch, "regex_replace": regexReplace}[fmt.Sprint(p[1])]; ok {
				// map('regex_replace', pattern, replacement): the filter's arguments follow
				out := make([]any, 0, len(l))
				for _, e := range l {
					v, err := rf(append([]any{e}, p[2:]...)...)
					if err != nil {
						return nil, err
					}
					out = append(out, v)
				}
				return out, nil
			}
			f, ok := mapFilters[fmt.Sprint(p[1])]
			if !ok {
				return nil, fmt.Errorf("map('%v'): conditions map with lower, upper, trim, int, float, string, length, bool, regex_search or regex_replace", p[1])
			}
			out := make([]any, 0, len(l))
			for _, e := range l {
				out = append(out, f(e))
			}
			return out, nil
		}),
		fn("py_method", pyMethod),
		fn("concat", func(p ...any) (any, error) { return pyvalue.Str(p[0]) + pyvalue.Str(p[1]), nil }),
		fn("is_changed", result("changed", true)),
		fn("is_failed", result("failed", true)), fn("is_failure", result("failed", true)),
		fn("is_succeeded", result("failed", false)), fn("is_success", result("failed", false)), fn("is_successful", result("failed", false)),
		fn("is_skipped", result("skipped", true)), fn("is_skip", result("skipped", true)), fn("is_change", result("changed", true)),
		fn("is_version", versionTest), fn("is_version_compare", versionTest),
		fn("is_none", kind(func(v any) bool { return v == nil })),
		// Ansible's path tests look at the machine running the playbook
		fn("is_file", kind(func(v any) bool { st, err := os.Stat(fmt.Sprint(v)); return err == nil && st.Mode().IsRegular() })),
		fn("is_directory", kind(func(v any) bool { st, err := os.Stat(fmt.Sprint(v)); return err == nil && st.IsDir() })),
		fn("is_dir", kind(func(v any) bool { st, err := os.Stat(fmt.Sprint(v)); return err == nil && st.IsDir() })),
		fn("is_link", kind(func(v any) bool {
			st, err := os.Lstat(fmt.Sprint(v))
			return err == nil && st.Mode()&os.ModeSymlink != 0
		})),
		fn("is_exists", kind(func(v any) bool { _, err := os.Stat(fmt.Sprint(v)); return err == nil })),
		fn("is_abs", kind(func(v any) bool { return strings.HasPrefix(fmt.Sprint(v), "/") })),
		fn("is_string", kind(func(v any) bool { _, ok := v.(string); return ok })),
		fn("is_number", kind(func(v any) bool { return isNumber(v) })),
		fn("is_integer", kind(func(v any) bool {
			switch v.(type) {
			case int, int64, uint64, int32:
				return true
			}
			return false
		})),
		fn("is_float", kind(func(v any) bool { _, ok := v.(float64); return ok })),
		fn("is_boolean", kind(func(v any) bool { _, ok := v.(bool); return ok })),
		fn("is_mapping", kind(func(v any) bool { _, ok := v.(map[string]any); return ok })),
		fn("is_iterable", kind(iterable)), fn("is_sequence", kind(iterable)),
		fn("is_truthy", kind(truth.Python)), fn("is_falsy", kind(func(v any) bool { return !truth.Python(v) })),
		fn("is_match", match(true, false)), fn("is_search", match(false, false)), fn("is_regex", match(false, false)),
	}
}

func lookup(vars map[string]any, path string) (any, bool) {
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

func isNumber(v any) bool {
	switch v.(type) {
	case int, int64, uint64, int32, float64, float32:
		return true
	}
	return false
}

func iterable(v any) bool {
	switch v.(type) {
	case []any, []string, map[string]any, string:
		return true
	}
	return false
}

// listFilter is a two-list filter as a condition's function:
// `a | difference(b)` is difference(a, b).
func listFilter(f func(a, b []any) []any) func(p ...any) (any, error) {
	return func(p ...any) (any, error) {
		if len(p) != 2 {
			return nil, fmt.Errorf("expected a list to compare with")
		}
		a, err := listops.AsList(p[0])
		if err != nil {
			return nil, err
		}
		b, err := listops.AsList(p[1])
		if err != nil {
			return nil, err
		}
		return f(a, b), nil
	}
}

// truthy is Ansible's bool filter (truth.Filter).
func truthy(v any) bool { return truth.Filter(v) }

// versionTest is Ansible's `v is version("15.2", ">=")`.
func versionTest(p ...any) (any, error) {
	if len(p) < 2 {
		return false, fmt.Errorf("version: expected a version to compare with")
	}
	op := "=="
	if len(p) > 2 {
		op = fmt.Sprint(p[2])
	}
	if len(p) > 3 && fmt.Sprint(p[3]) != "loose" {
		return false, fmt.Errorf("version: version_type=%v: runbook compares loose versions (Ansible's default) only", p[3])
	}
	return looseversion.Test(fmt.Sprint(p[0]), fmt.Sprint(p[1]), op)
}

// selectFilter is select or reject (keep), or with attr their *attr forms.
func selectFilter(keep, attr bool) func(p ...any) (any, error) {
	return func(p ...any) (any, error) {
		l, err := listops.AsList(p[0])
		if err != nil {
			return nil, err
		}
		args, name := p[1:], ""
		if attr {
			if len(args) == 0 {
				return nil, fmt.Errorf("selectattr: expected an attribute")
			}
			name, args = fmt.Sprint(args[0]), args[1:]
		}
		test := ""
		if len(args) > 0 {
			test, args = fmt.Sprint(args[0]), args[1:]
		}
		out := []any{}
		for _, e := range l {
			v, ok := e, true
			if attr {
				v, ok = lookup(asMap(e), name)
			}
			pass, err := jinjatest.Apply(test, v, ok, args)
			if err != nil {
				if !ok {
					return nil, fmt.Errorf("%v has no attribute %q", e, name)
				}
				return nil, err
			}
			if pass == keep {
				out = append(out, e)
			}
		}
		return out, nil
	}
}

// mapFilters are the filters map('name') applies in a condition.
var mapFilters = map[string]func(any) any{
	"lower":  func(v any) any { return strings.ToLower(fmt.Sprint(v)) },
	"upper":  func(v any) any { return strings.ToUpper(fmt.Sprint(v)) },
	"trim":   func(v any) any { return strings.TrimSpace(fmt.Sprint(v)) },
	"string": func(v any) any { return fmt.Sprint(v) },
	"bool":   func(v any) any { return truthy(v) },
	"length": func(v any) any { l, _ := listops.AsList(v); return len(l) },
	"int": func(v any) any {
		var n int
		fmt.Sscan(strings.TrimSpace(fmt.Sprint(v)), &n)
		return n
	},
	"float": func(v any) any {
		var f float64
		fmt.Sscan(strings.TrimSpace(fmt.Sprint(v)), &f)
		return f
	},
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// rewriteFilters turns each Jinja filter `operand | name(args)` into the
// call `name(operand, args)`, the operand being what stands just before
// the bar (a name, a path, a literal, a bracketed group or a call), so
// that `a == b | int` is `a == int(b)` as in Jinja.
func rewriteFilters(s string) string {
	for n := 0; n < 100; n++ {
		bar := nextBar(s)
		if bar < 0 {
			return s
		}
		start := operandStart(s, bar)
		operand := strings.TrimSpace(s[start:bar])
		j := bar + 1
		for j < len(s) && s[j] == ' ' {
			j++
		}
		k := j
		for k < len(s) && (s[k] == '_' || s[k] >= 'a' && s[k] <= 'z' || s[k] >= '0' && s[k] <= '9') {
			k++
		}
		name, args := s[j:k], ""
		end := k
		if name == "" {
			return s // a bare bar: the parser reports it
		}
		for p := k; p < len(s) && (s[p] == ' ' || s[p] == '('); p++ {
			if s[p] == '(' {
				k = p // Jinja's lexer drops spaces: `| intersect (x)` is a call with x
				break
			}
		}
		if k < len(s) && s[k] == '(' {
			close := matching(s, k)
			if close < 0 {
				return s // unclosed: the parser reports it
			}
			args, end = strings.TrimSpace(s[k+1:close]), close+1
		}
		if f, ok := filterNames[name]; ok {
			name = f
		} else if _, builtinFn := builtin.Index[name]; !builtinFn && !ansibleFuncs[name] && shared != nil && shared.Has(name) {
			// a filter only templates have: called through them
			operand = `"` + name + `", ` + operand
			name = "jfilter"
		}
		if name == "jmap" && strings.HasPrefix(args, "attribute") {
			if _, v, ok := strings.Cut(args, "="); ok {
				name, args = "jmap_attr", strings.TrimSpace(v)
			}
		}
		if name == "default_" && !simplePath.MatchString(operand) {
			name = "default_v"
		} else if name == "default_" {
			operand = `"` + operand + `"`
		}
		call := name + "(" + operand
		if args != "" {
			call += ", " + args
		}
		call += ")"
		s = s[:start] + call + s[end:]
	}
	return s
}

// nextBar is the index of the first filter bar outside strings (not ||).
func nextBar(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"', '\'':
			i = closingQuote(s, i)
		case '|':
			if i+1 < len(s) && s[i+1] == '|' {
				i++
				continue
			}
			return i
		}
	}
	return -1
}

// matching is the index of the bracket closing the one at i, or -1.
func matching(s string, i int) int {
	depth := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '"', '\'':
			j = closingQuote(s, j)
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// operandStart walks back from the bar over one operand.
func operandStart(s string, bar int) int {
	i := bar - 1
	for i >= 0 && s[i] == ' ' {
		i--
	}
	for i >= 0 {
		c := s[i]
		switch {
		case c == ')' || c == ']' || c == '}':
			depth := 0
			for ; i >= 0; i-- {
				switch s[i] {
				case ')', ']', '}':
					depth++
				case '(', '[', '{':
					depth--
				}
				if depth == 0 {
					break
				}
			}
			i--
		case c == '"' || c == '\'':
			i--
			for i >= 0 && s[i] != c {
				i--
			}
			i--
		case c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
			i--
		default:
			return i + 1
		}
	}
	return 0
}

// regexReplace is Jinja's regex_replace(value, pattern, replacement).
func regexReplace(p ...any) (any, error) {
	if len(p) < 2 {
		return nil, fmt.Errorf("regex_replace: expected a pattern")
	}
	re, err := regexp.Compile(fmt.Sprint(p[1]))
	if err != nil {
		return nil, err
	}
	repl := ""
	if len(p) > 2 {
		repl = fmt.Sprint(p[2])
	}
	return re.ReplaceAllString(fmt.Sprint(p[0]), pyre.Backrefs(repl)), nil
}

// regexSearch is Jinja's regex_search(value, pattern): the match or none.
func regexSearch(p ...any) (any, error) {
	if len(p) < 2 {
		return nil, fmt.Errorf("regex_search: expected a pattern")
	}
	re, err := regexp.Compile(fmt.Sprint(p[1]))
	if err != nil {
		return nil, err
	}
	if loc := re.FindStringIndex(fmt.Sprint(p[0])); loc != nil {
		return fmt.Sprint(p[0])[loc[0]:loc[1]], nil
	}
	return nil, nil
}

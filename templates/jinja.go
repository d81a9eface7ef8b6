package templates

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/template"

	"github.com/runbook-lab/runbook/internal/jinjatest"
	"github.com/runbook-lab/runbook/internal/listops"
	"github.com/runbook-lab/runbook/internal/looseversion"
	"github.com/runbook-lab/runbook/internal/pyre"
	"github.com/runbook-lab/runbook/internal/pyvalue"
	"github.com/runbook-lab/runbook/internal/truth"
	"go.yaml.in/yaml/v3"
)

// Omit is what the omit function gives: a module argument whose value
// renders to it is left out, as Ansible's default(omit).
const Omit = "\x00runbook-omit\x00"

// Functions that `runbook convert` writes for Jinja2 filters, tests and
// operators that text/template and sprig have no equal for. Each takes its
// operands in the order a pipeline gives them (the filtered value last).
func jinjaFuncs(m template.FuncMap) {
	// value is a variable by dotted path, or nil when it is not defined
	// (`x | default(y)` must not fail on a missing x).
	m["value"] = func(root any, path string) any {
		v, _ := lookupPath(root, path)
		return v
	}
	m["defined"] = func(root any, path string) bool {
		_, ok := lookupPath(root, path)
		return ok
	}
	// fallback is Jinja's default: the value, or def when it is nil
	// (sprig's default also replaces "", 0 and false).
	m["fallback"] = func(def, v any) any {
		if v == nil {
			return def
		}
		return v
	}
	m["truthy"] = truthy
	// pySplit is Python's str.split() with no separator: the words.
	// Python's str.strip/lstrip/rstrip: whitespace, or any of the
	// characters given, from one or both ends
	m["pyStrip"] = func(side string, args ...any) string {
		s := fmt.Sprint(args[len(args)-1])
		cut := " \t\n\r\v\f"
		if len(args) > 1 && args[0] != nil {
			cut = fmt.Sprint(args[0])
		}
		switch side {
		case "lstrip":
			return strings.TrimLeft(s, cut)
		case "rstrip":
			return strings.TrimRight(s, cut)
		}
		return strings.Trim(s, cut)
	}
	// Python's str.splitlines(): lines without their endings, no last
	// empty line
	m["pySplitLines"] = func(v any) []any {
		s := strings.ReplaceAll(fmt.Sprint(v), "\r\n", "\n")
		s = strings.TrimSuffix(strings.ReplaceAll(s, "\r", "\n"), "\n")
		out := []any{}
		if s == "" {
			return out
		}
		for _, l := range strings.Split(s, "\n") {
			out = append(out, l)
		}
		return out
	}
	// path_join as Python's os.path.join: a later absolute part starts over
	m["pathJoin"] = func(v any) (string, error) {
		parts, ok := v.([]any)
		if !ok {
			return fmt.Sprint(v), nil
		}
		out := ""
		for _, p := range parts {
			s := fmt.Sprint(p)
			switch {
			case strings.HasPrefix(s, "/") || out == "":
				out = s
			case strings.HasSuffix(out, "/"):
				out += s
			default:
				out += "/" + s
			}
		}
		return out, nil
	}
	m["regexQuoteMeta"] = func(v any) string { return regexp.QuoteMeta(fmt.Sprint(v)) }
	m["pySplit"] = func(v any) []any {
		words := strings.Fields(fmt.Sprint(v))
		out := make([]any, len(words))
		for i, w := range words {
			out[i] = w
		}
		return out
	}
	// mapWith is Jinja's map('filter', args...): the template function
	// name (value last) applied to each element of the list (last).
	m["mapWith"] = func(name string, args ...any) ([]any, error) {
		f, ok := m[name]
		if !ok || len(args) == 0 {
			return nil, fmt.Errorf("map: no filter %s", name)
		}
		l, err := listops.AsList(args[len(args)-1])
		if err != nil {
			return nil, fmt.Errorf("map(%s): %w", name, err)
		}
		fv := reflect.ValueOf(f)
		out := make([]any, 0, len(l))
		for _, e := range l {
			in := []reflect.Value{}
			for i, a := range append(append([]any{}, args[:len(args)-1]...), e) {
				t := fv.Type().In(min(i, fv.Type().NumIn()-1))
				if fv.Type().IsVariadic() && i >= fv.Type().NumIn()-1 {
					t = t.Elem()
				}
				v := reflect.ValueOf(a)
				if !v.IsValid() {
					v = reflect.Zero(t)
				} else if v.Type().ConvertibleTo(t) && t.Kind() != reflect.Interface {
					v = v.Convert(t)
				}
				in = append(in, v)
			}
			res := fv.Call(in)
			if len(res) == 2 && !res[1].IsNil() {
				return nil, fmt.Errorf("map(%s): %v", name, res[1].Interface())
			}
			out = append(out, res[0].Interface())
		}
		return out, nil
	}
	// pySum is Jinja's sum: whole numbers stay whole.
	m["pySum"] = func(v any) (any, error) {
		l, err := listops.AsList(v)
		if err != nil {
			return nil, fmt.Errorf("sum: %w", err)
		}
		var whole int64
		var real float64
		isReal := false
		for _, e := range l {
			switch n := e.(type) {
			case int:
				whole += int64(n)
			case int64:
				whole += n
			case float64:
				real, isReal = real+n, true
			default:
				return nil, fmt.Errorf("sum: %v is not a number", e)
			}
		}
		if isReal {
			return real + float64(whole), nil
		}
		return whole, nil
	}
	// pyRegexReplace is regex_replace with the value last (for map).
	m["pyRegexReplace"] = func(pattern, repl string, v any) (string, error) {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return "", err
		}
		return re.ReplaceAllString(fmt.Sprint(v), pyre.Backrefs(repl)), nil
	}
	// Ansible's list filters, value last: {{ a | difference(b) }} is
	// (difference b a)
	two := func(f func(a, b []any) []any) func(b, a any) ([]any, error) {
		return func(b, a any) ([]any, error) {
			la, err := listops.AsList(a)
			if err != nil {
				return nil, err
			}
			lb, err := listops.AsList(b)
			if err != nil {
				return nil, err
			}
			return f(la, lb), nil
		}
	}
	m["difference"], m["union"], m["intersect"] = two(listops.Difference), two(listops.Union), two(listops.Intersect)
	m["symmetricDifference"] = two(listops.SymmetricDifference)
	m["flatten"] = func(args ...any) ([]any, error) {
		levels := -1
		if len(args) == 2 {
			n, ok := args[0].(int)
			if !ok {
				return nil, fmt.Errorf("flatten: levels must be a number, got %v", args[0])
			}
			levels = n
		}
		if len(args) == 0 || len(args) > 2 {
			return nil, fmt.Errorf("flatten: expected a list")
		}
		l, err := listops.AsList(args[len(args)-1])
		if err != nil {
			return nil, err
		}
		return listops.Flatten(l, levels), nil
	}
	m["toBool"] = truth.Filter // Ansible's bool filter
	// same is Jinja's ==: numbers by value (1 == 1.0), others as equal
	// values; text/template's eq refuses mixed types.
	m["same"] = same
	m["py"] = pyvalue.Str
	m["omit"] = func() string { return Omit }
	// comment is Ansible's comment filter (plain style): the text between
	// two "#" lines, each line "# "-prefixed.
	m["comment"] = func(v any) string {
		lines := strings.Split(fmt.Sprint(v), "\n")
		for i, l := range lines {
			lines[i] = strings.TrimRight("# "+l, " ")
		}
		return "#\n" + strings.Join(lines, "\n") + "\n#"
	}
	m["toPyJson"] = func(v any) (string, error) { return pyJSON(v, 0) }
	m["toPyNiceJson"] = func(v any) (string, error) { return pyJSON(v, 4) }
	m["cmp"] = compare
	m["member"] = member
	m["plus"] = plus
	m["times"] = times
	m["power"] = power
	m["toYaml"] = func(v any) (string, error) {
		b, err := yaml.Marshal(v)
		return strings.TrimSuffix(string(b), "\n"), err
	}
	m["fromYaml"] = func(s string) (any, error) {
		var v any
		err := yaml.Unmarshal([]byte(s), &v)
		return v, err
	}
	m["fromJsonValue"] = func(s string) (any, error) {
		var v any
		err := json.Unmarshal([]byte(s), &v)
		return v, err
	}
	m["dict2items"] = func(d map[string]any) []any {
		keys := make([]string, 0, len(d))
		for k := range d {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([]any, 0, len(keys))
		for _, k := range keys {
			out = append(out, map[string]any{"key": k, "value": d[k]})
		}
		return out
	}
	m["items2dict"] = func(l []any) map[string]any {
		out := map[string]any{}
		for _, e := range l {
			if mp, ok := e.(map[string]any); ok {
				out[fmt.Sprint(mp["key"])] = mp["value"]
			}
		}
		return out
	}
	// combine merges mappings, later ones winning (Jinja's combine).
	m["combine"] = func(ms ...any) map[string]any {
		out := map[string]any{}
		for _, x := range ms {
			if mp, ok := x.(map[string]any); ok {
				for k, v := range mp {
					out[k] = v
				}
			}
		}
		return out
	}
	// mapAttr is map(attribute='x'): the x of every element.
	m["mapAttr"] = func(attr string, l []any) []any {
		out := make([]any, 0, len(l))
		for _, e := range l {
			v, _ := lookupPath(e, attr)
			out = append(out, v)
		}
		return out
	}
	// selectAttr is selectattr('x', test, args...): the elements whose x
	// passes the test (Python's truth when none is named); the list is last.
	m["selectAttr"] = func(attr string, args ...any) ([]any, error) { return selectBy(true, attr, args) }
	m["rejectAttr"] = func(attr string, args ...any) ([]any, error) { return selectBy(false, attr, args) }
	// selectWith is select(test, args...), the elements themselves tested.
	m["selectWith"] = func(args ...any) ([]any, error) { return selectBy(true, "", args) }
	m["rejectWith"] = func(args ...any) ([]any, error) { return selectBy(false, "", args) }
	// jinjaIndent is indent(width): every line but the first.
	m["jinjaIndent"] = func(width int, s string) string {
		pad := strings.Repeat(" ", width)
		lines := strings.Split(s, "\n")
		for i := 1; i < len(lines); i++ {
			if lines[i] != "" {
				lines[i] = pad + lines[i]
			}
		}
		return strings.Join(lines, "\n")
	}
	m["isChanged"] = func(r any) bool { v, _ := lookupPath(r, "changed"); return truthy(v) }
	m["isFailed"] = func(r any) bool { v, _ := lookupPath(r, "failed"); return truthy(v) }
	m["isSucceeded"] = func(r any) bool { v, _ := lookupPath(r, "failed"); return !truthy(v) }
	m["isSkipped"] = func(r any) bool { v, _ := lookupPath(r, "skipped"); return truthy(v) }
	m["isNone"] = func(v any) bool { return v == nil }
	m["isString"] = func(v any) bool { _, ok := v.(string); return ok }
	m["isNumber"] = func(v any) bool {
		switch v.(type) {
		case int, int64, float64, uint64:
			return true
		}
		return false
	}
	m["isMapping"] = func(v any) bool { _, ok := v.(map[string]any); return ok }
	m["isIterable"] = func(v any) bool {
		k := reflect.ValueOf(v).Kind()
		return k == reflect.Slice || k == reflect.Map || k == reflect.String
	}
	m["versionCompare"] = func(v, other string, op ...string) (bool, error) {
		o := "=="
		if len(op) > 0 {
			o = op[0]
		}
		return looseversion.Test(v, other, o)
	}
	m["regexSearch"] = func(re, s string) (string, error) {
		rx, err := regexp.Compile(re)
		if err != nil {
			return "", err
		}
		return rx.FindString(s), nil
	}
	// regex_search(re, '\\1', '\\g<name>') as Ansible: the named groups of
	// the first match as a list, nil when nothing matches
	m["regexSearchGroups"] = func(re, s string, groups ...string) (any, error) {
		rx, err := regexp.Compile(re)
		if err != nil {
			return nil, err
		}
		m := rx.FindStringSubmatchIndex(s)
		if m == nil {
			return nil, nil
		}
		out := make([]any, 0, len(groups))
		for _, g := range groups {
			i := -1
			if name, ok := strings.CutPrefix(g, `\g<`); ok {
				i = rx.SubexpIndex(strings.TrimSuffix(name, ">"))
			} else if n, err := strconv.Atoi(strings.TrimPrefix(g, `\`)); err == nil && strings.HasPrefix(g, `\`) {
				i = n
			}
			if i < 0 || i > rx.NumSubexp() {
				return nil, fmt.Errorf("regex_search: unknown group %q", g)
			}
			if m[2*i] < 0 {
				out = append(out, nil)
			} else {
				out = append(out, s[m[2*i]:m[2*i+1]])
			}
		}
		return out, nil
	}
	m["jinjaRound"] = func(args ...any) float64 {
		v, _ := strconv.ParseFloat(fmt.Sprint(args[len(args)-1]), 64)
		p := 0
		if len(args) > 1 {
			p, _ = strconv.Atoi(fmt.Sprint(args[0]))
		}
		s := strconv.FormatFloat(v, 'f', p, 64)
		f, _ := strconv.ParseFloat(s, 64)
		return f
	}
}

func lookupPath(root any, path string) (any, bool) {
	cur := root
	for _, p := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[p]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// truthy is Jinja's truth (Python's): what `not`, `if` and a ternary's
// condition see; "no" and "false" are true here, as in Jinja.
func truthy(v any) bool { return truth.Python(v) }

// member is Jinja's `in`: an element of a list, a key of a mapping, a
// substring of a string.
func member(needle, hay any) bool {
	switch h := hay.(type) {
	case string:
		return strings.Contains(h, fmt.Sprint(needle))
	case map[string]any:
		_, ok := h[fmt.Sprint(needle)]
		return ok
	}
	rv := reflect.ValueOf(hay)
	if rv.Kind() == reflect.Slice {
		for i := 0; i < rv.Len(); i++ {
			if fmt.Sprint(rv.Index(i).Interface()) == fmt.Sprint(needle) {
				return true
			}
		}
	}
	return false
}

// selectBy keeps (or, with keep false, drops) the elements of the list
// (args' last) that pass the test args[0] with args[1:]; attr names the
// attribute tested, "" the element itself. As in Ansible, a missing
// attribute is an error unless the test is defined or undefined.
func selectBy(keep bool, attr string, args []any) ([]any, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("select: no list")
	}
	l, err := listops.AsList(args[len(args)-1])
	if err != nil {
		return nil, err
	}
	name, targs := "", args[:len(args)-1]
	if len(targs) > 0 {
		name, targs = fmt.Sprint(targs[0]), targs[1:]
	}
	out := []any{}
	for _, e := range l {
		v, ok := e, true
		if attr != "" {
			v, ok = lookupPath(e, attr)
		}
		pass, err := jinjatest.Apply(name, v, ok, targs)
		if err != nil {
			if !ok {
				return nil, fmt.Errorf("%v has no attribute %q", e, attr)
			}
			return nil, err
		}
		if pass == keep {
			out = append(out, e)
		}
	}
	return out, nil
}

// nativeRE is a text that is exactly one action.
var nativeRE = regexp.MustCompile(`^\s*\{\{-?\s*(.+?)\s*-?\}\}\s*$`)

var nativeCache sync.Map // pipeline text -> *template.Template

// NativeValue evaluates a text that is exactly one action ("{{ fallback
// (list) (value $ "pkgs") }}") and returns its value unflattened (a list
// stays a list); ok is false for any other text.
func NativeValue(text string, vars map[string]any) (any, bool, error) {
	m := nativeRE.FindStringSubmatch(text)
	if m == nil || strings.Contains(m[1], "{{") || strings.Contains(m[1], "}}") {
		return nil, false, nil
	}
	var t *template.Template
	if c, ok := nativeCache.Load(m[1]); ok {
		t = c.(*template.Template)
	} else {
		fm := template.FuncMap{"__value": func(v any) string { return "" }}
		parsed, err := template.New("value").Funcs(funcs).Funcs(fm).Option("missingkey=error").Parse("{{ __value (" + m[1] + ") }}")
		if err != nil {
			return nil, false, nil // not one pipeline: render as text
		}
		if err := confine(parsed); err != nil {
			return nil, true, err
		}
		t = parsed
		nativeCache.Store(m[1], t)
	}
	var got any
	c, err := t.Clone()
	if err != nil {
		return nil, false, nil
	}
	c.Funcs(template.FuncMap{"__value": func(v any) string { got = v; return "" }})
	if _, err := Execute(c, vars); err != nil {
		return nil, true, err
	}
	return got, true, nil
}

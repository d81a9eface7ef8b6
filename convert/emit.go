package convert

import (
	"cmp"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// scope is what names mean where an expression is converted: loop and set
// variables of the template ($x), and whether a range has moved the dot
// (then the variables are $.x).
type scope struct {
	locals  map[string]string // Jinja name -> Go variable ($x)
	loops   []loopInfo
	inRange bool
	// macros are the template's {% macro %}s defined so far, by name: a
	// call to one becomes (macro "macro_NAME" (dict ...) $)
	macros map[string][]macroParam
}

// macroParam is one parameter of a macro, with its default (converted).
type macroParam struct{ name, def string }

type loopInfo struct {
	index string // $i of the innermost loop
	coll  string // the collection, for loop.last and loop.length
}

func (s *scope) child() *scope {
	c := &scope{locals: map[string]string{}, loops: append([]loopInfo(nil), s.loops...), inRange: s.inRange, macros: s.macros}
	for k, v := range s.locals {
		c.locals[k] = v
	}
	return c
}

// unsupported is an error for a construct convert leaves to the user.
type unsupported struct{ what string }

func (u unsupported) Error() string { return u.what }

func unsup(format string, args ...any) error { return unsupported{fmt.Sprintf(format, args...)} }

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// path is the dotted name of a plain variable reference (a.b.c), or "".
func path(n node) string {
	switch x := n.(type) {
	case name:
		return x.name
	case attr:
		if p := path(x.x); p != "" && identRE.MatchString(x.name) {
			return p + "." + x.name
		}
	case index:
		// a['key'] and a[0] are paths too (packages['mysql-server'])
		k, ok := x.i.(lit)
		if p := path(x.x); ok && p != "" {
			if key, err := strconv.Unquote(k.text); err == nil && key != "" && !strings.ContainsAny(key, ".") {
				return p + "." + key
			}
			if _, err := strconv.Atoi(k.text); err == nil {
				return p + "." + k.text
			}
		}
	}
	return ""
}

func (s *scope) root() string {
	if s.inRange {
		return "$"
	}
	return "$"
}

// emit writes n as a Go template operand.
func (s *scope) emit(n node) (string, error) {
	switch x := n.(type) {
	case lit:
		return x.text, nil
	case name:
		switch x.name {
		case "omit":
			return "(omit)", nil
		case "loop":
			return "", unsup("loop used alone")
		}
		if v, ok := s.locals[x.name]; ok {
			return v, nil
		}
		if s.inRange {
			return "$." + x.name, nil
		}
		return "." + x.name, nil
	case attr:
		if nm, ok := x.x.(name); ok && nm.name == "loop" && len(s.loops) > 0 {
			l := s.loops[len(s.loops)-1]
			switch x.name {
			case "index":
				return "(add " + l.index + " 1)", nil
			case "index0":
				return l.index, nil
			case "first":
				return "(eq " + l.index + " 0)", nil
			case "last":
				return "(eq " + l.index + " (sub (len " + l.coll + ") 1))", nil
			case "length":
				return "(len " + l.coll + ")", nil
			case "revindex":
				return "(sub (len " + l.coll + ") " + l.index + ")", nil
			}
			return "", unsup("loop.%s", x.name)
		}
		base, err := s.emit(x.x)
		if err != nil {
			return "", err
		}
		if identRE.MatchString(x.name) && (strings.HasPrefix(base, ".") || strings.HasPrefix(base, "$")) && !strings.ContainsAny(base, " ()") {
			return base + "." + x.name, nil
		}
		if _, err := strconv.Atoi(x.name); err == nil {
			return "(index " + base + " " + x.name + ")", nil // item.1: Jinja's subscript of a list
		}
		return "(index " + base + " " + strconv.Quote(x.name) + ")", nil
	case index:
		base, err := s.emit(x.x)
		if err != nil {
			return "", err
		}
		i, err := s.emit(x.i)
		if err != nil {
			return "", err
		}
		return "(index " + base + " " + i + ")", nil
	case slice:
		parts := []string{"pySlice"}
		nodes := []node{x.x, x.lo, x.hi}
		if x.step != nil {
			parts, nodes = []string{"pySliceStep"}, append(nodes, x.step)
		}
		for _, n := range nodes {
			if n == nil {
				parts = append(parts, "nil")
				continue
			}
			e, err := s.emit(n)
			if err != nil {
				return "", err
			}
			parts = append(parts, e)
		}
		return "(" + strings.Join(parts, " ") + ")", nil
	case list:
		parts := []string{"list"}
		for _, it := range x.items {
			e, err := s.emit(it)
			if err != nil {
				return "", err
			}
			parts = append(parts, e)
		}
		return "(" + strings.Join(parts, " ") + ")", nil
	case dict:
		parts := []string{"dict"}
		for i := range x.keys {
			k, err := s.emit(x.keys[i])
			if err != nil {
				return "", err
			}
			v, err := s.emit(x.vals[i])
			if err != nil {
				return "", err
			}
			parts = append(parts, k, v)
		}
		return "(" + strings.Join(parts, " ") + ")", nil
	case unop:
		e, err := s.emit(x.x)
		if err != nil {
			return "", err
		}
		if x.op == "not" {
			return "(not (truthy " + e + "))", nil
		}
		return "(sub 0 " + e + ")", nil
	case binop:
		return s.emitBinop(x)
	case ternaryOp:
		t, err := s.emit(x.then)
		if err != nil {
			return "", err
		}
		c, err := s.emit(x.c)
		if err != nil {
			return "", err
		}
		e, err := s.emit(x.els)
		if err != nil {
			return "", err
		}
		return "(ternary " + t + " " + e + " (truthy " + c + "))", nil
	case filter:
		return s.emitFilter(x)
	case test:
		return s.emitTest(x)
	case call:
		return s.emitCall(x)
	}
	return "", unsup("expression %T", n)
}

func (s *scope) emitBinop(x binop) (string, error) {
	l, err := s.emit(x.l)
	if err != nil {
		return "", err
	}
	r, err := s.emit(x.r)
	if err != nil {
		return "", err
	}
	switch x.op {
	case "and", "or":
		return "(" + x.op + " " + l + " " + r + ")", nil
	case "==":
		return "(same " + l + " " + r + ")", nil
	case "!=":
		return "(not (same " + l + " " + r + "))", nil
	case "<", ">", "<=", ">=":
		return "(cmp " + strconv.Quote(x.op) + " " + l + " " + r + ")", nil
	case "in":
		return "(member " + l + " " + r + ")", nil
	case "~":
		return `(printf "%v%v" ` + l + " " + r + ")", nil
	case "+":
		return "(plus " + l + " " + r + ")", nil
	case "-":
		return "(sub " + l + " " + r + ")", nil
	case "*":
		return "(times " + l + " " + r + ")", nil
	case "**":
		return "(power " + l + " " + r + ")", nil
	case "/":
		return "(divf " + l + " " + r + ")", nil
	case "//":
		return "(div " + l + " " + r + ")", nil
	case "%":
		return "(mod " + l + " " + r + ")", nil
	}
	return "", unsup("operator %s", x.op)
}

// simpleFilters are filters whose Go function takes the value last and
// the filter's arguments first, in the same order.
var simpleFilters = map[string]string{
	"lower": "lower", "upper": "upper", "trim": "trim", "length": "len", "count": "len", "first": "first",
	"last": "last", "to_json": "toPyJson", "to_nice_json": "toPyNiceJson", "from_json": "fromJsonValue",
	"to_yaml": "toYaml", "to_nice_yaml": "toYaml", "from_yaml": "fromYaml", "b64encode": "b64enc", "b64decode": "b64dec",
	"basename": "base", "dirname": "dir", "unique": "uniq", "sort": "sortAlpha", "quote": "shq", "bool": "toBool",
	"string": "py", "float": "float64", "dict2items": "dict2items", "items2dict": "items2dict",
	"capitalize": "title", "title": "title", "hash": "sha1sum", "checksum": "sha1sum", "md5": "md5", "sha1": "sha1sum",
	"reverse": "reverse", "keys": "keys", "min": "min", "max": "max", "comment": "comment", "sum": "pySum",
	"urlencode": "urlencode", "ipaddr": "ipaddr", "ipv4": "ipv4", "ipv6": "ipv6", "ipwrap": "ipwrap",
}

// ipFilters take their query as an argument (ansible.utils' ipaddr family).
var ipFilters = map[string]bool{"ipaddr": true, "ipv4": true, "ipv6": true}

// SimpleFilter is the template function a Jinja filter maps to when it
// takes the value last and its arguments first (conditions call it too).
func SimpleFilter(name string) (string, bool) {
	f, ok := simpleFilters[name]
	return f, ok
}

func (s *scope) emitFilter(f filter) (string, error) {
	// default on a plain variable must not fail when it is undefined
	var x string
	var err error
	if (f.name == "default" || f.name == "d") && path(f.x) != "" {
		if v, ok := s.locals[strings.Split(path(f.x), ".")[0]]; ok {
			x = v + strings.TrimPrefix(path(f.x), strings.Split(path(f.x), ".")[0])
		} else {
			x = "(value $ " + strconv.Quote(path(f.x)) + ")"
		}
	} else if x, err = s.emit(f.x); err != nil {
		return "", err
	}
	args := make([]string, 0, len(f.args))
	for _, a := range f.args {
		e, err := s.emit(a)
		if err != nil {
			return "", err
		}
		args = append(args, e)
	}
	arg := func(i int, def string) string {
		if i < len(args) {
			return args[i]
		}
		return def
	}
	kw := func(k string) (string, error) {
		if v, ok := f.kwargs[k]; ok {
			return s.emit(v)
		}
		return "", nil
	}
	if fn, ok := simpleFilters[f.name]; ok {
		if ipFilters[f.name] && len(args) <= 1 { // ipaddr('address'): the query first, the value last
			return "(" + strings.Join(append(append([]string{fn}, args...), x), " ") + ")", nil
		}
		if len(args) > 0 && f.name != "hash" && f.name != "checksum" && f.name != "comment" {
			return "", unsup("filter %s with arguments", f.name)
		}
		if f.name == "comment" && len(args) > 0 {
			return "", unsup("comment with a style")
		}
		if f.name == "hash" && len(args) > 0 && args[0] != `"sha1"` {
			switch args[0] {
			case `"sha256"`:
				fn = "sha256sum"
			case `"md5"`:
				fn = "md5"
			default:
				return "", unsup("hash(%s)", args[0])
			}
		}
		return "(" + fn + " " + x + ")", nil
	}
	switch f.name {
	case "format": // '%s-%d' | format(a, b): the value is the format
		return "(pyFormat " + strings.Join(append([]string{x}, args...), " ") + ")", nil
	case "batch":
		if len(args) == 1 || len(args) == 2 {
			return "(batch " + strings.Join(append([]string{x}, args...), " ") + ")", nil
		}
	case "zip":
		return "(zipLists " + strings.Join(append([]string{x}, args...), " ") + ")", nil
	case "password_hash":
		return "(passwordHash " + strings.Join(append(args, x), " ") + ")", nil
	case "json_query":
		if len(args) == 1 {
			return "(jsonQuery " + args[0] + " " + x + ")", nil
		}
	case "difference", "union", "intersect", "symmetric_difference":
		if len(args) != 1 {
			return "", unsup("%s needs one list", f.name)
		}
		fn := map[string]string{"symmetric_difference": "symmetricDifference"}[f.name]
		return "(" + cmp.Or(fn, f.name) + " " + args[0] + " " + x + ")", nil
	case "flatten":
		return "(flatten " + strings.Join(args, " ") + " " + x + ")", nil
	case "default", "d":
		if len(args) > 1 && args[1] == "true" {
			return "(default " + arg(0, `""`) + " " + x + ")", nil // also for empty values
		}
		return "(fallback " + arg(0, `""`) + " " + x + ")", nil
	case "join":
		return "(join " + arg(0, `""`) + " " + x + ")", nil
	case "replace":
		if len(args) < 2 {
			return "", unsup("replace needs two arguments")
		}
		return "(replace " + args[0] + " " + args[1] + " " + x + ")", nil
	case "int":
		return "(int64 " + x + ")", nil
	case "list":
		return x, nil
	case "regex_replace":
		if len(args) == 1 {
			args = append(args, `""`) // Ansible's replacement defaults to ''
		}
		if len(args) < 2 {
			return "", unsup("regex_replace needs a pattern")
		}
		repl := regexp.MustCompile(`\\\\(\d)`).ReplaceAllString(args[1], `$${$1}`)
		return "(regexReplaceAll " + args[0] + " " + x + " " + repl + ")", nil
	case "path_join":
		return "(pathJoin " + x + ")", nil
	case "regex_findall":
		if len(args) != 1 {
			return "", unsup("regex_findall with flags")
		}
		return "(regexFindall " + args[0] + " " + x + ")", nil
	case "regex_escape":
		return "(regexQuoteMeta " + x + ")", nil
	case "regex_search":
		if len(args) == 0 {
			return "", unsup("regex_search needs a pattern")
		}
		if len(args) > 1 {
			// regex_search(re, '\\1', '\\g<name>'): the groups of the first match, a list
			return "(regexSearchGroups " + args[0] + " " + x + " " + strings.Join(args[1:], " ") + ")", nil
		}
		return "(regexSearch " + args[0] + " " + x + ")", nil
	case "split":
		if len(args) == 0 { // Python's split(): runs of whitespace, no empty parts
			return "(pySplit " + x + ")", nil
		}
		return "(splitList " + args[0] + " " + x + ")", nil
	case "indent":
		w := arg(0, "4")
		if v, _ := kw("width"); v != "" {
			w = v
		}
		if v, _ := kw("first"); v == "true" || len(args) > 1 && args[1] == "true" {
			return "(indent " + w + " " + x + ")", nil
		}
		return "(jinjaIndent " + w + " " + x + ")", nil
	case "ternary":
		return "(ternary " + arg(0, "true") + " " + arg(1, "false") + " (truthy " + x + "))", nil
	case "combine":
		return "(combine " + x + " " + strings.Join(args, " ") + ")", nil
	case "map":
		a, _ := kw("attribute")
		if a == "" {
			name := ""
			if len(args) > 0 {
				name = strings.Trim(args[0], `"`)
			}
			if fn, ok := simpleFilters[name]; ok && len(args) == 1 {
				return "(mapWith \"" + fn + "\" " + x + ")", nil
			}
			switch {
			case name == "join" && len(args) <= 2:
				return "(mapWith \"join\" " + arg(1, `""`) + " " + x + ")", nil
			case name == "extract" && (len(args) == 2 || len(args) == 3):
				return "(mapExtract " + strings.Join(args[1:], " ") + " " + x + ")", nil
			case name == "regex_replace" && len(args) == 3:
				return "(mapWith \"pyRegexReplace\" " + args[1] + " " + args[2] + " " + x + ")", nil
			case name == "int" && len(args) == 1:
				return "(mapWith \"int64\" " + x + ")", nil
			case name == "split" && len(args) == 1:
				return "(mapWith \"pySplit\" " + x + ")", nil
			case name == "split" && len(args) == 2:
				return "(mapWith \"splitList\" " + args[1] + " " + x + ")", nil
			}
			return "", unsup("map(%s)", strings.Join(args, ", "))
		}
		return "(mapAttr " + a + " " + x + ")", nil
	case "selectattr", "rejectattr":
		if len(args) == 0 {
			return "", unsup("%s needs an attribute", f.name)
		}
		fn := map[string]string{"selectattr": "selectAttr", "rejectattr": "rejectAttr"}[f.name]
		return "(" + fn + " " + strings.Join(args, " ") + " " + x + ")", nil
	case "select", "reject":
		return "(" + f.name + "With " + strings.Join(append(args, x), " ") + ")", nil
	case "round":
		return "(jinjaRound " + strings.Join(args, " ") + " " + x + ")", nil
	case "mandatory":
		return "(required \"a mandatory variable is undefined\" " + x + ")", nil
	case "dictsort":
		return x, nil // ranging over a mapping is in key order already
	}
	return "", unsup("filter %s", f.name)
}

// Expr converts one Jinja expression to a Go template pipeline.
func (s *scope) Expr(src string) (string, error) {
	e, _, err := s.exprNode(src)
	return e, err
}

func (s *scope) exprNode(src string) (string, node, error) {
	n, err := parseExpr(src)
	if err != nil {
		return "", nil, fmt.Errorf("not a Jinja expression: %v", err)
	}
	e, err := s.emit(n)
	if err != nil {
		return "", nil, err
	}
	return trimParens(e), n, nil
}

// stringy says an expression's value is text already (printing it as
// Python would changes nothing).
func stringy(n node) bool {
	switch x := n.(type) {
	case lit:
		return strings.HasPrefix(x.text, `"`)
	case filter:
		switch x.name {
		case "join", "lower", "upper", "replace", "trim", "to_json", "to_nice_json", "to_yaml", "to_nice_yaml",
			"regex_replace", "basename", "dirname", "quote", "indent", "b64encode", "b64decode", "hash", "checksum",
			"md5", "sha1", "string", "capitalize", "title", "regex_search":
			return true
		case "default", "d":
			return len(x.args) > 0 && stringy(x.args[0]) && stringy(x.x)
		}
	case binop:
		return x.op == "~"
	}
	return false
}

// boolish says an expression's value is a boolean (True/False in Jinja).
func boolish(n node) bool {
	switch x := n.(type) {
	case test:
		return true
	case unop:
		return x.op == "not"
	case binop:
		switch x.op {
		case "==", "!=", "<", ">", "<=", ">=", "in":
			return true
		}
	case filter:
		return x.name == "bool"
	}
	return false
}

// sortedKeys is for deterministic output.
func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

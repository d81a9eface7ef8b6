// Package cond evaluates task conditions (when, changed_when, failed_when,
// until): expressions that read like Ansible's, such as
// `role == "primary" and pg_version >= 15` or `result.rc != 0`.
package cond

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/parser"

	"github.com/runbook-lab/runbook/internal/diag"
	"github.com/runbook-lab/runbook/internal/truth"
)

// Check parses an expression without evaluating it.
// It refuses what would fail on every host: syntax errors, calls to
// functions that do not exist, and a result that cannot be a boolean (a
// number or a string literal).
func Check(s string) error {
	if err := tooDeep(s); err != nil {
		return err
	}
	tree, err := parser.Parse(translate(s))
	if err != nil {
		return clean(err)
	}
	var unknown string
	var envErr error
	callees := map[*ast.IdentifierNode]bool{}
	var names []string // variables, which may share a builtin's name (count)
	ast.Walk(&tree.Node, visitor(func(n *ast.Node) {
		if id, ok := (*n).(*ast.IdentifierNode); ok && !callees[id] {
			names = append(names, id.Value)
		}
		c, ok := (*n).(*ast.CallNode)
		if !ok || unknown != "" {
			return
		}
		if id, ok := c.Callee.(*ast.IdentifierNode); ok {
			if _, known := builtin.Index[id.Value]; !known && !ansibleFuncs[id.Value] {
				unknown = id.Value
			}
		}
		if envErr == nil {
			envErr = literalEnvLookup(c)
		}
	}))
	if envErr != nil {
		return envErr
	}
	if unknown != "" {
		return fmt.Errorf("unknown function %s()%s", unknown, diag.DidYouMean(unknown, functionNames()))
	}
	// a literal that is not a truth value (when: 42) is a mistake; a
	// variable's value is judged by Python's truth when it runs
	opts := append(options(nil, expr.AllowUndefinedVariables()), expr.AsBool())
	for _, n := range names {
		if _, b := builtin.Index[n]; b {
			opts = append(opts, expr.DisableBuiltin(n))
		}
	}
	_, err = expr.Compile(translate(s), opts...)
	return clean(err)
}

// maxDepth bounds how deeply brackets nest in one condition: rewriting
// and parsing work per level, and 50,000 levels once took 19 s to refuse.
// Real conditions nest a handful deep.
const maxDepth = 100

// tooDeep refuses a condition whose brackets, outside quoted strings,
// nest deeper than maxDepth.
func tooDeep(s string) error {
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(' || c == '[' || c == '{':
			if depth++; depth > maxDepth {
				return fmt.Errorf("brackets nested deeper than %d levels (column %d)", maxDepth, i+1)
			}
		case c == ')' || c == ']' || c == '}':
			depth--
		}
	}
	return nil
}

// literalEnvLookup refuses lookup('env', NAME) with a computed NAME: a
// value (perhaps a host's output) must not choose which of the
// controller's environment variables a condition reads.
func literalEnvLookup(c *ast.CallNode) error {
	id, ok := c.Callee.(*ast.IdentifierNode)
	if !ok || (id.Value != "lookup" && id.Value != "query" && id.Value != "q") || len(c.Arguments) == 0 {
		return nil
	}
	if kind, ok := c.Arguments[0].(*ast.StringNode); !ok || kind.Value != "env" {
		return nil
	}
	for _, a := range c.Arguments[1:] {
		if _, ok := a.(*ast.StringNode); !ok {
			return fmt.Errorf("lookup('env', ...): write the variable's name literally; a computed name could read any of the controller's environment")
		}
	}
	return nil
}

type visitor func(*ast.Node)

func (v visitor) Visit(n *ast.Node) { v(n) }

func functionNames() []string {
	var names []string
	for n := range ansibleFuncs {
		names = append(names, n)
	}
	for n := range builtin.Index {
		names = append(names, n)
	}
	return names
}

// inPatch turns `a in b` into member(a, b), so that `in` means what it
// means in Ansible's conditions: an element of a list, a key of a mapping,
// or a substring of a string ("ok" in out.stdout).
type inPatch struct{}

func (inPatch) Visit(node *ast.Node) {
	b, ok := (*node).(*ast.BinaryNode)
	if !ok || b.Operator != "in" {
		return
	}
	call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: "member"}, Arguments: []ast.Node{b.Left, b.Right}}
	ast.Patch(node, call)
}

// truthPatch makes `not`, `and` and `or` take any value by its Python
// truth (`not (x | regex_search('y'))`, where the match may be none), as
// Jinja does; the expression language wants booleans there.
type truthPatch struct{}

func (truthPatch) Visit(node *ast.Node) {
	wrap := func(n *ast.Node) {
		if _, isBool := (*n).(*ast.BoolNode); isBool {
			return
		}
		if c, ok := (*n).(*ast.CallNode); ok {
			if id, ok := c.Callee.(*ast.IdentifierNode); ok && id.Value == "py_truth" {
				return
			}
		}
		ast.Patch(n, &ast.CallNode{Callee: &ast.IdentifierNode{Value: "py_truth"}, Arguments: []ast.Node{*n}})
	}
	switch x := (*node).(type) {
	case *ast.UnaryNode:
		if x.Operator == "not" || x.Operator == "!" {
			wrap(&x.Node)
		}
	case *ast.BinaryNode:
		if x.Operator == "and" || x.Operator == "or" || x.Operator == "&&" || x.Operator == "||" {
			wrap(&x.Left)
			wrap(&x.Right)
		}
	}
}

var pyTruthFunc = expr.Function("py_truth", func(p ...any) (any, error) { return pyTruth(p[0]), nil }, new(func(any) bool))

var memberOf = expr.Function("member", func(p ...any) (any, error) {
	needle, hay := p[0], p[1]
	switch h := hay.(type) {
	case string:
		n, ok := needle.(string)
		if !ok {
			return false, fmt.Errorf("in: %v is not a string, and %q is", needle, h)
		}
		return strings.Contains(h, n), nil
	case []any:
		for _, e := range h {
			if reflect.DeepEqual(e, needle) || fmt.Sprint(e) == fmt.Sprint(needle) && sameKind(e, needle) {
				return true, nil
			}
		}
		return false, nil
	case []string:
		for _, e := range h {
			if e == needle {
				return true, nil
			}
		}
		return false, nil
	case map[string]any:
		k, ok := needle.(string)
		if !ok {
			return false, nil
		}
		_, found := h[k]
		return found, nil
	case nil:
		return false, fmt.Errorf("in: the right side is undefined or null")
	}
	v := reflect.ValueOf(hay)
	if v.Kind() == reflect.Slice || v.Kind() == reflect.Array {
		for i := 0; i < v.Len(); i++ {
			if reflect.DeepEqual(v.Index(i).Interface(), needle) {
				return true, nil
			}
		}
		return false, nil
	}
	return false, fmt.Errorf("in: expected a list, a mapping or a string on the right, got %T", hay)
}, new(func(any, any) bool))

// sameKind treats numbers of different Go types as one kind (1 in [1]).
func sameKind(a, b any) bool {
	num := func(x any) bool {
		switch x.(type) {
		case int, int64, float64, uint64, int32:
			return true
		}
		return false
	}
	return num(a) && num(b)
}

// Eval evaluates s against vars. An undefined variable is an error naming it
// (use `x is defined` to test for one). The result must be a boolean.
func Eval(s string, vars map[string]any) (bool, error) {
	switch strings.TrimSpace(s) {
	case "true", "True", "yes":
		return true, nil
	case "false", "False", "no":
		return false, nil
	}
	if err := tooDeep(s); err != nil {
		return false, err
	}
	var envErr error
	confined := expr.Patch(visitor(func(n *ast.Node) {
		if c, ok := (*n).(*ast.CallNode); ok && envErr == nil {
			envErr = literalEnvLookup(c)
		}
	}))
	prog, err := expr.Compile(translate(s), append(options(vars, expr.Env(vars)), confined)...)
	if err != nil {
		return false, clean(err)
	}
	if envErr != nil {
		return false, envErr
	}
	out, err := expr.Run(prog, vars)
	if err != nil {
		return false, clean(err)
	}
	return pyTruth(out), nil
}

// pyTruth is Python's truth of a condition's value (truth.Python).
func pyTruth(v any) bool { return truth.Python(v) }

// step is one step down a path: a mapping's key, a list's index (from the
// end when negative, as Python's).
func step(cur, key any) (any, bool) {
	switch c := cur.(type) {
	case map[string]any:
		v, ok := c[fmt.Sprint(key)]
		return v, ok
	case []any:
		var i int
		switch k := key.(type) {
		case int:
			i = k
		case int64:
			i = int(k)
		case float64:
			if k != float64(int(k)) {
				return nil, false
			}
			i = int(k)
		default:
			return nil, false
		}
		if i < 0 {
			i += len(c)
		}
		if i < 0 || i >= len(c) {
			return nil, false
		}
		return c[i], true
	}
	return nil, false
}

// defined is the function behind `x is defined`: whether the path exists.
// Its arguments are the steps from the variables down (definedCall); a
// single dotted string is the older form, kept for operands that are not
// a plain path.
func defined(vars map[string]any) expr.Option {
	return expr.Function("defined", func(params ...any) (any, error) {
		steps := params
		if len(params) == 1 {
			if path, ok := params[0].(string); ok && strings.Contains(path, ".") {
				steps = nil
				for _, p := range strings.Split(path, ".") {
					steps = append(steps, p)
				}
			}
		}
		var cur any = vars
		for _, st := range steps {
			next, ok := step(cur, st)
			if !ok {
				return false, nil
			}
			cur = next
		}
		return true, nil
	})
}

var unknownName = regexp.MustCompile(`unknown name ([A-Za-z_][A-Za-z0-9_]*)`)

func clean(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if m := unknownName.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("undefined variable %q (test with `%s is defined`)", m[1], m[1])
	}
	if i := strings.Index(msg, "\n"); i > 0 {
		msg = msg[:i]
	}
	return fmt.Errorf("%s", msg)
}

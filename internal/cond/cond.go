// Package cond evaluates task conditions (when, changed_when, failed_when,
// until): expressions that read like Ansible's, such as
// `role == "primary" and pg_version >= 15` or `result.rc != 0`.
package cond

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/expr-lang/expr"
)

var (
	isDefined    = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_.]*)\s+is\s+defined\b`)
	isNotDefined = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_.]*)\s+is\s+not\s+defined\b`)
)

// translate rewrites Ansible's `x is defined` / `x is not defined` tests.
func translate(s string) string {
	s = isNotDefined.ReplaceAllString(s, `not defined("$1")`)
	return isDefined.ReplaceAllString(s, `defined("$1")`)
}

// Check parses an expression without evaluating it.
func Check(s string) error {
	_, err := expr.Compile(translate(s), expr.AllowUndefinedVariables(), defined(nil))
	return clean(err)
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
	prog, err := expr.Compile(translate(s), expr.Env(vars), defined(vars), expr.AsBool())
	if err != nil {
		return false, clean(err)
	}
	out, err := expr.Run(prog, vars)
	if err != nil {
		return false, clean(err)
	}
	return out.(bool), nil
}

// defined is the function `defined("a.b")`: whether the dotted path exists.
func defined(vars map[string]any) expr.Option {
	return expr.Function("defined", func(params ...any) (any, error) {
		path, _ := params[0].(string)
		var cur any = vars
		for _, p := range strings.Split(path, ".") {
			m, ok := cur.(map[string]any)
			if !ok {
				return false, nil
			}
			if cur, ok = m[p]; !ok {
				return false, nil
			}
		}
		return true, nil
	}, new(func(string) bool))
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

// Package jinjatest applies a Jinja test named at run time, as the select,
// reject, selectattr and rejectattr filters do with each element
// (`select("!=", "")`, `selectattr("port", "gt", 1024)`). A test it does
// not know is an error, never a silent truth test.
package jinjatest

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/runbook-lab/runbook/internal/listops"
	"github.com/runbook-lab/runbook/internal/truth"
)

// Apply says whether v passes the test name with args; defined is false
// when v is an undefined attribute (only the defined tests accept that).
// An empty name is Python's truth, as select() with no test.
func Apply(name string, v any, defined bool, args []any) (bool, error) {
	switch name {
	case "defined":
		return defined, nil
	case "undefined":
		return !defined, nil
	}
	if !defined {
		return false, fmt.Errorf("test %s on an undefined value", or(name, "(truth)"))
	}
	need := func(n int) error {
		if len(args) != n {
			return fmt.Errorf("test %s takes %d argument(s), got %d", name, n, len(args))
		}
		return nil
	}
	switch name {
	case "", "truthy":
		return truth.Python(v), nil
	case "falsy":
		return !truth.Python(v), nil
	case "none":
		return v == nil, nil
	case "boolean":
		_, ok := v.(bool)
		return ok, nil
	case "true", "false":
		b, ok := v.(bool)
		return ok && b == (name == "true"), nil
	case "string":
		_, ok := v.(string)
		return ok, nil
	case "number", "integer", "float":
		if _, isNum := number(v); !isNum {
			return false, nil
		}
		_, isFloat := v.(float64)
		_, isBool := v.(bool)
		switch name {
		case "integer": // Jinja leaves True and False out
			return !isFloat && !isBool, nil
		case "float":
			return isFloat, nil
		}
		return true, nil // a bool is a number to Python
	case "mapping":
		_, ok := v.(map[string]any)
		return ok, nil
	case "sequence", "iterable":
		k := reflect.ValueOf(v).Kind()
		return k == reflect.Slice || k == reflect.Array || k == reflect.Map || k == reflect.String, nil
	case "lower", "upper":
		s, ok := v.(string)
		if !ok {
			return false, nil
		}
		if name == "lower" {
			return s == strings.ToLower(s), nil
		}
		return s == strings.ToUpper(s), nil
	case "even", "odd", "divisibleby":
		n, ok := integer(v)
		if !ok {
			return false, fmt.Errorf("test %s needs a whole number, got %v", name, v)
		}
		d := int64(2)
		if name == "divisibleby" {
			if err := need(1); err != nil {
				return false, err
			}
			if d, ok = integer(args[0]); !ok || d == 0 {
				return false, fmt.Errorf("test divisibleby needs a whole number other than 0, got %v", args[0])
			}
		}
		r := n % d
		return r == 0 == (name != "odd"), nil
	case "eq", "equalto", "==", "sameas", "ne", "!=":
		if err := need(1); err != nil {
			return false, err
		}
		return Equal(v, args[0]) == (name != "ne" && name != "!="), nil
	case "lt", "lessthan", "<", "le", "<=", "gt", "greaterthan", ">", "ge", ">=":
		if err := need(1); err != nil {
			return false, err
		}
		c, err := compare(v, args[0])
		if err != nil {
			return false, fmt.Errorf("test %s: %w", name, err)
		}
		switch name {
		case "lt", "lessthan", "<":
			return c < 0, nil
		case "le", "<=":
			return c <= 0, nil
		case "gt", "greaterthan", ">":
			return c > 0, nil
		}
		return c >= 0, nil
	case "in":
		if err := need(1); err != nil {
			return false, err
		}
		return member(v, args[0])
	case "contains":
		if err := need(1); err != nil {
			return false, err
		}
		return member(args[0], v)
	case "match", "search", "regex":
		if len(args) < 1 {
			return false, fmt.Errorf("test %s needs a pattern", name)
		}
		pat := fmt.Sprint(args[0])
		if name == "match" {
			pat = "^(?:" + pat + ")"
		}
		re, err := regexp.Compile(pat)
		if err != nil {
			return false, fmt.Errorf("test %s: %w", name, err)
		}
		return re.MatchString(fmt.Sprint(v)), nil
	}
	return false, fmt.Errorf("unknown test %q", name)
}

// Equal is Python's ==: numbers by value (1 == 1.0, True == 1), lists and
// mappings element by element, anything else by type and value.
func Equal(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	la, aList := a.([]any)
	lb, bList := b.([]any)
	if aList || bList {
		if !aList || !bList || len(la) != len(lb) {
			return false
		}
		for i := range la {
			if !Equal(la[i], lb[i]) {
				return false
			}
		}
		return true
	}
	ma, aMap := a.(map[string]any)
	mb, bMap := b.(map[string]any)
	if aMap || bMap {
		if !aMap || !bMap || len(ma) != len(mb) {
			return false
		}
		for k, v := range ma {
			if w, ok := mb[k]; !ok || !Equal(v, w) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// compare orders two numbers or two strings, as Python does; anything else
// cannot be ordered.
func compare(a, b any) (int, error) {
	if x, ok := number(a); ok {
		if y, ok := number(b); ok {
			switch {
			case x < y:
				return -1, nil
			case x > y:
				return 1, nil
			}
			return 0, nil
		}
	}
	sa, aStr := a.(string)
	sb, bStr := b.(string)
	if aStr && bStr {
		return strings.Compare(sa, sb), nil
	}
	return 0, fmt.Errorf("cannot order %T and %T", a, b)
}

// member is Python's `x in c`: an element of a list, a key of a mapping,
// a substring of a string.
func member(x, c any) (bool, error) {
	switch cc := c.(type) {
	case string:
		s, ok := x.(string)
		if !ok {
			return false, fmt.Errorf("'in <string>' needs a string on the left, got %T", x)
		}
		return strings.Contains(cc, s), nil
	case map[string]any:
		_, ok := cc[fmt.Sprint(x)]
		return ok, nil
	}
	l, err := listops.AsList(c)
	if err != nil {
		return false, err
	}
	for _, e := range l {
		if Equal(x, e) {
			return true, nil
		}
	}
	return false, nil
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float64:
		return x, true
	case bool: // Python's bool is an int
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func integer(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case uint64:
		return int64(x), true
	case float64:
		if x == float64(int64(x)) {
			return int64(x), true
		}
	}
	return 0, false
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

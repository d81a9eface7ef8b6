package templates

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// Python arithmetic and comparison as Jinja2 does it on Ansible values:
// int stays int, int and float make float, str + str concatenates.

// plus is Jinja's +: numbers add, strings and lists concatenate.
func plus(a, b any) (any, error) {
	switch x := a.(type) {
	case string:
		return x + fmt.Sprint(b), nil
	case []any:
		if y, ok := b.([]any); ok {
			return append(append([]any{}, x...), y...), nil
		}
	}
	fa, ea := strconv.ParseFloat(fmt.Sprint(a), 64)
	fb, eb := strconv.ParseFloat(fmt.Sprint(b), 64)
	if ea != nil || eb != nil {
		return nil, fmt.Errorf("cannot add %T and %T", a, b)
	}
	if fa == float64(int64(fa)) && fb == float64(int64(fb)) {
		if _, isF := a.(float64); !isF {
			if _, isF := b.(float64); !isF {
				return int64(fa) + int64(fb), nil
			}
		}
	}
	return fa + fb, nil
}

// times is Python's *: a string or a list repeated a whole number of
// times (nothing for 0 or less; bounded like every count), numbers
// multiplied ('=' * 20 is a rule of twenty, not 0).
func times(a, b any) (any, error) {
	if n, ok := wholeNumber(b); ok {
		if r, ok, err := repeated(a, n); ok {
			return r, err
		}
	}
	if n, ok := wholeNumber(a); ok {
		if r, ok, err := repeated(b, n); ok {
			return r, err
		}
	}
	return arith("multiply", a, b, func(x, y int64) (int64, bool) {
		p := x * y
		return p, x == 0 || (p/x == y && !(x == -1 && y == math.MinInt64) && !(y == -1 && x == math.MinInt64))
	}, func(x, y float64) float64 { return x * y })
}

// power is Jinja's **, on numbers.
func power(a, b any) (any, error) {
	return arith("raise", a, b, func(x, y int64) (int64, bool) {
		if y < 0 {
			return 0, false
		}
		switch {
		case x == 0 && y > 0:
			return 0, true
		case x == 1 || y == 0:
			return 1, true
		case x == -1:
			return 1 - 2*(y%2), true
		}
		// |x| >= 2: at most 63 steps before the result overflows
		r := int64(1)
		for i := int64(0); i < y; i++ {
			if (r*x)/x != r {
				return 0, false
			}
			r *= x
		}
		return r, true
	}, math.Pow)
}

// repeated is v (a string or a list) n times; ok is false for other values.
func repeated(v any, n int64) (any, bool, error) {
	if n < 0 {
		n = 0
	}
	switch x := v.(type) {
	case string:
		if len(x) > 0 && n > int64(MaxOutput/len(x)) {
			return nil, true, errTooLarge
		}
		return strings.Repeat(x, int(n)), true, nil
	case []any:
		if len(x) > 0 && n > int64(maxCount/len(x)) {
			return nil, true, fmt.Errorf("a list repeated %d times is over %d items", n, maxCount)
		}
		out := make([]any, 0, len(x)*int(n))
		for i := int64(0); i < n; i++ {
			out = append(out, x...)
		}
		return out, true, nil
	}
	return nil, false, nil
}

// wholeNumber is v as an integer when it is one (not a float, not a bool).
func wholeNumber(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case uint64:
		return int64(x), x <= math.MaxInt64
	}
	return 0, false
}

// arith applies an operator to two numbers: integers stay integers while
// the result fits (fits reports it), anything else is a float.
func arith(verb string, a, b any, ints func(x, y int64) (int64, bool), floats func(x, y float64) float64) (any, error) {
	x, xok := wholeNumber(a)
	y, yok := wholeNumber(b)
	if xok && yok {
		if r, fits := ints(x, y); fits {
			return r, nil
		}
	}
	fa, ea := strconv.ParseFloat(fmt.Sprint(a), 64)
	fb, eb := strconv.ParseFloat(fmt.Sprint(b), 64)
	if ea != nil || eb != nil {
		return nil, fmt.Errorf("cannot %s %T and %T", verb, a, b)
	}
	return floats(fa, fb), nil
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
	}
	return 0, false
}

func same(a, b any) bool {
	fa, oka := number(a)
	fb, okb := number(b)
	if oka && okb {
		return fa == fb
	}
	return reflect.DeepEqual(a, b)
}

// compare is Jinja's <, >, <=, >=: numbers by value, strings in order.
func compare(op string, a, b any) (bool, error) {
	c := 0
	fa, oka := number(a)
	fb, okb := number(b)
	sa, sok := a.(string)
	sb, sokb := b.(string)
	switch {
	case oka && okb:
		c = map[bool]int{true: -1, false: 1}[fa < fb]
		if fa == fb {
			c = 0
		}
	case sok && sokb:
		c = strings.Compare(sa, sb)
	default:
		return false, fmt.Errorf("cannot compare %T and %T with %s", a, b, op)
	}
	switch op {
	case "<":
		return c < 0, nil
	case ">":
		return c > 0, nil
	case "<=":
		return c <= 0, nil
	case ">=":
		return c >= 0, nil
	}
	return false, fmt.Errorf("unknown comparison %q", op)
}

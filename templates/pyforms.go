package templates

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"text/template"

	"github.com/runbook-lab/runbook/internal/listops"
)

// pythonFuncs are what convert translates Python's forms and some of
// Ansible's filters into: a[i:j] (pySlice), a['k.j'] is defined
// (hasKeyOrIndex), s.find(x) (pyFind), urlencode, password_hash and
// json_query.
func pythonFuncs(m template.FuncMap) {
	m["pySlice"] = pySlice
	m["pySliceStep"] = pySliceStep
	m["hasKeyOrIndex"] = hasKeyOrIndex
	m["passwordHash"] = passwordHash
	m["jsonQuery"] = jsonQuery
	m["pyFind"] = func(sub, s any) int { return strings.Index(fmt.Sprint(s), fmt.Sprint(sub)) }
	m["urlencode"] = func(v any) string {
		if mp, ok := v.(map[string]any); ok {
			q := url.Values{}
			for k, x := range mp {
				q.Set(k, fmt.Sprint(x))
			}
			return q.Encode()
		}
		return quote(fmt.Sprint(v))
	}
}

// hasKeyOrIndex: a mapping has the key, or a list the index (Jinja's
// x['a.b'] is defined, x[3] is defined).
func hasKeyOrIndex(x, k any) bool {
	switch c := x.(type) {
	case map[string]any:
		_, ok := c[fmt.Sprint(k)]
		return ok
	case nil:
		return false
	}
	if l, err := listops.AsList(x); err == nil {
		i, ok := k.(int)
		if !ok {
			if i64, ok64 := k.(int64); ok64 {
				i, ok = int(i64), true
			}
		}
		return ok && i >= -len(l) && i < len(l)
	}
	return false
}

// pySlice is Python's x[lo:hi] on a string or a list: nil bounds are the
// ends, negative ones count from the end, and out-of-range bounds are
// clamped (never an error, as in Python).
func pySlice(x, lo, hi any) (any, error) {
	bound := func(b any, n, def int) (int, error) {
		if b == nil {
			return def, nil
		}
		v := reflect.ValueOf(b)
		var i int
		switch v.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			i = int(v.Int())
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			i = int(v.Uint())
		case reflect.Float64, reflect.Float32:
			i = int(v.Float())
		default:
			return 0, fmt.Errorf("slice bound %v is not a number", b)
		}
		if i < 0 {
			i += n
		}
		return min(max(i, 0), n), nil
	}
	s, isString := x.(string)
	runes := []rune(s)
	var l []any
	n := len(runes)
	if !isString {
		var err error
		if l, err = listops.AsList(x); err != nil {
			return nil, fmt.Errorf("slice: %w", err)
		}
		n = len(l)
	}
	a, err := bound(lo, n, 0)
	if err != nil {
		return nil, err
	}
	b, err := bound(hi, n, n)
	if err != nil {
		return nil, err
	}
	b = max(a, b) // x[5:2] is empty
	if isString {
		return string(runes[a:b]), nil
	}
	return append([]any{}, l[a:b]...), nil
}

// pySliceStep is Python's x[lo:hi:step] (x[::-1] reverses): the bounds
// as Python's slice.indices() reads them for the step's sign.
func pySliceStep(x, lo, hi, step any) (any, error) {
	st, err := sliceInt(step)
	if err != nil || st == 0 {
		return nil, fmt.Errorf("slice step %v: expected a whole number other than 0", step)
	}
	s, isString := x.(string)
	runes := []rune(s)
	var l []any
	n := len(runes)
	if !isString {
		if l, err = listops.AsList(x); err != nil {
			return nil, fmt.Errorf("slice: %w", err)
		}
		n = len(l)
	}
	bound := func(b any, def, low, high int) (int, error) {
		if b == nil {
			return def, nil
		}
		i, err := sliceInt(b)
		if err != nil {
			return 0, err
		}
		if i < 0 {
			i += n
		}
		return min(max(i, low), high), nil
	}
	var a, b int
	if st > 0 {
		if a, err = bound(lo, 0, 0, n); err == nil {
			b, err = bound(hi, n, 0, n)
		}
	} else {
		if a, err = bound(lo, n-1, -1, n-1); err == nil {
			b, err = bound(hi, -1, -1, n-1)
		}
	}
	if err != nil {
		return nil, err
	}
	var outRunes []rune
	var out []any
	for i := a; st > 0 && i < b || st < 0 && i > b; i += st {
		if isString {
			outRunes = append(outRunes, runes[i])
		} else {
			out = append(out, l[i])
		}
	}
	if isString {
		return string(outRunes), nil
	}
	return append([]any{}, out...), nil
}

// sliceInt is a slice bound or step as a whole number.
func sliceInt(b any) (int, error) {
	v := reflect.ValueOf(b)
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return int(v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int(v.Uint()), nil
	case reflect.Float64, reflect.Float32:
		return int(v.Float()), nil
	}
	return 0, fmt.Errorf("slice bound %v is not a number", b)
}

// quote is Python's urllib.parse.quote with safe "/" (Jinja's urlencode):
// letters, digits, _.-~ and / stay, every other byte is %XX.
func quote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_.-~/", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

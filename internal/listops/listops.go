// Package listops holds Ansible's list filters (difference, union,
// intersect, symmetric_difference, flatten) for templates and conditions
// alike. Lists keep their first order and lose repeats, as Ansible's do
// for lists (its set-based path is only for hashable values).
package listops

import (
	"fmt"
	"reflect"
)

// AsList is v as a list: a list as it is, nil as empty, else an error.
func AsList(v any) ([]any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []any:
		return x, nil
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = rv.Index(i).Interface()
		}
		return out, nil
	}
	return nil, fmt.Errorf("expected a list, got %T", v)
}

func equal(a, b any) bool {
	return reflect.DeepEqual(a, b) || fmt.Sprint(a) == fmt.Sprint(b) && reflect.TypeOf(a) == reflect.TypeOf(b)
}

func contains(l []any, v any) bool {
	for _, e := range l {
		if equal(e, v) {
			return true
		}
	}
	return false
}

// Unique drops repeats, keeping the first of each.
func Unique(l []any) []any {
	out := []any{}
	for _, e := range l {
		if !contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

// Difference is a's elements that are not in b.
func Difference(a, b []any) []any {
	var out []any
	for _, e := range a {
		if !contains(b, e) {
			out = append(out, e)
		}
	}
	return Unique(out)
}

// Intersect is a's elements that are in b.
func Intersect(a, b []any) []any {
	var out []any
	for _, e := range a {
		if contains(b, e) {
			out = append(out, e)
		}
	}
	return Unique(out)
}

// Union is a's elements then b's.
func Union(a, b []any) []any { return Unique(append(append([]any{}, a...), b...)) }

// SymmetricDifference is what is in one list only.
func SymmetricDifference(a, b []any) []any {
	in := Intersect(a, b)
	var out []any
	for _, e := range Union(a, b) {
		if !contains(in, e) {
			out = append(out, e)
		}
	}
	return Unique(out)
}

// Flatten flattens nested lists levels deep (levels < 0: all the way),
// dropping nulls as Ansible's flatten does by default.
func Flatten(l []any, levels int) []any {
	out := []any{}
	for _, e := range l {
		if e == nil {
			continue
		}
		if sub, err := AsList(e); err == nil && isList(e) && levels != 0 {
			out = append(out, Flatten(sub, levels-1)...)
			continue
		}
		out = append(out, e)
	}
	return out
}

func isList(v any) bool {
	k := reflect.ValueOf(v).Kind()
	return k == reflect.Slice || k == reflect.Array
}

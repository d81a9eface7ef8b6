// Package truth holds the three ways Ansible turns a value into true or
// false, which differ in ways playbooks notice ("no" is true to Python and
// false to the bool filter; "t" is true only to keywords such as become).
package truth

import (
	"reflect"
	"strings"
)

// Python is Python's truth, as Ansible judges a condition's value
// (`when: items`, `until: job.finished`), Jinja's `not` and `if`, and the
// `truthy` test: zero, empty and null are false, everything else true.
func Python(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case int:
		return x != 0
	case int64:
		return x != 0
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Map, reflect.Array, reflect.String:
		return rv.Len() > 0
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int() != 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return rv.Uint() != 0
	case reflect.Float32, reflect.Float64:
		return rv.Float() != 0
	case reflect.Pointer, reflect.Interface:
		return !rv.IsNil()
	}
	return true
}

// Filter is Ansible's `bool` filter: a boolean as it is; a string true
// when, lowercased but not trimmed, it is yes, on, 1 or true; a number
// true when it equals 1; everything else false ("y", "t", " true " and 2
// are false, as ansible-playbook says).
func Filter(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		switch strings.ToLower(x) {
		case "yes", "on", "1", "true":
			return true
		}
		return false
	}
	return isOne(v)
}

// Keyword is Ansible's boolean() for keywords and connection variables
// (become, ignore_errors, no_log, ansible_become): a string is lowercased
// and trimmed, and y, yes, on, 1, true and t are true; a number equal to 1
// is true; everything else false.
func Keyword(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "y", "yes", "on", "1", "true", "t":
			return true
		}
		return false
	}
	return isOne(v)
}

func isOne(v any) bool {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int() == 1
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return rv.Uint() == 1
	case reflect.Float32, reflect.Float64:
		return rv.Float() == 1
	}
	return false
}

package modules

import (
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// applyDefaults sets every zero argument that documents a default (its
// `default:` tag, which runbook doc shows) to that default: the tag is the
// one place a default lives, and a test holds New() to it.
func applyDefaults(m Module) {
	v := reflect.ValueOf(m)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return
	}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			if strings.HasSuffix(f.Tag.Get("yaml"), ",inline") && f.Type.Kind() == reflect.Struct {
				walk(v.Field(i))
				continue
			}
			def, ok := f.Tag.Lookup("default")
			if !ok || !v.Field(i).IsZero() {
				continue
			}
			if v.Field(i).Kind() == reflect.String {
				v.Field(i).SetString(def) // as written ("# {mark}" is no YAML comment here)
				continue
			}
			// YAML reads the tag as it would read the argument itself
			// (custom decoders included: modes, lists)
			_ = yaml.Unmarshal([]byte(def), v.Field(i).Addr().Interface())
		}
	}
	walk(v.Elem())
}

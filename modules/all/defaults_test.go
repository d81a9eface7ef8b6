package all_test

import (
	"fmt"
	_ "github.com/runbook-lab/runbook/modules/all"
	"reflect"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/modules"
)

// Defaults live in one place: the default a module documents (its
// `default:` tag, shown by runbook doc) is the value New() gives, and a
// field New() fills has its default documented.
func TestDocumentedDefaultsAreTheRealOnes(t *testing.T) {
	for _, id := range modules.Default.IDs() {
		info, _ := modules.Default.Lookup(id)
		v := reflect.ValueOf(info.New())
		if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
			continue
		}
		var walk func(v reflect.Value)
		walk = func(v reflect.Value) {
			ty := v.Type()
			for i := 0; i < ty.NumField(); i++ {
				f := ty.Field(i)
				if !f.IsExported() {
					continue
				}
				if strings.HasSuffix(f.Tag.Get("yaml"), ",inline") {
					walk(v.Field(i))
					continue
				}
				name := strings.Split(f.Tag.Get("yaml"), ",")[0]
				doc, hasDoc := f.Tag.Lookup("default")
				real := shown(v.Field(i))
				switch {
				case hasDoc && doc != real:
					t.Errorf("%s.%s: documented default %q, New() gives %q", id, name, doc, real)
				case !hasDoc && real != "":
					t.Errorf("%s.%s: New() gives %q but no default is documented", id, name, real)
				}
			}
		}
		walk(v.Elem())
	}
}

// shown renders a field's value as a default tag writes it ("" for zero).
func shown(v reflect.Value) string {
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		return fmt.Sprint(v.Elem().Interface())
	}
	if v.IsZero() {
		return ""
	}
	switch v.Kind() {
	case reflect.Slice:
		var parts []string
		for i := 0; i < v.Len(); i++ {
			parts = append(parts, fmt.Sprint(v.Index(i).Interface()))
		}
		return strings.Join(parts, ",")
	case reflect.Struct:
		if m, ok := v.Interface().(modules.Mode); ok {
			return fmt.Sprintf("%04o", m.Perm)
		}
	}
	return fmt.Sprint(v.Interface())
}

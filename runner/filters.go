package runner

import (
	"fmt"
	"reflect"

	"github.com/runbook-lab/runbook/convert"
	"github.com/runbook-lab/runbook/internal/cond"
	"github.com/runbook-lab/runbook/templates"
)

// Conditions call the filters templates have (one expression language):
// a Jinja filter's template function takes its arguments first and the
// value last.
func init() { cond.SetFilters(templateFilters{}) }

type templateFilters struct{}

func (templateFilters) fn(name string) (reflect.Value, bool) {
	goName, ok := convert.SimpleFilter(name)
	if !ok {
		return reflect.Value{}, false
	}
	f, ok := templates.FuncMap()[goName]
	if !ok {
		return reflect.Value{}, false
	}
	return reflect.ValueOf(f), true
}

func (t templateFilters) Has(name string) bool {
	_, ok := t.fn(name)
	return ok
}

func (t templateFilters) Call(name string, operand any, args []any) (out any, err error) {
	f, ok := t.fn(name)
	if !ok {
		return nil, fmt.Errorf("no filter %s", name)
	}
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%s: %v", name, r)
		}
	}()
	all := append(append([]any(nil), args...), operand)
	ft := f.Type()
	in := make([]reflect.Value, len(all))
	for i, a := range all {
		var want reflect.Type
		switch {
		case ft.IsVariadic() && i >= ft.NumIn()-1:
			want = ft.In(ft.NumIn() - 1).Elem()
		case i < ft.NumIn():
			want = ft.In(i)
		default:
			return nil, fmt.Errorf("%s: %d arguments, it takes %d", name, len(args), ft.NumIn()-1)
		}
		v := reflect.ValueOf(a)
		switch {
		case !v.IsValid():
			v = reflect.Zero(want)
		case v.Type().AssignableTo(want):
		case v.Type().ConvertibleTo(want) && v.Kind() != reflect.Int && want.Kind() != reflect.String:
			v = v.Convert(want)
		case want.Kind() == reflect.String:
			v = reflect.ValueOf(fmt.Sprint(a))
		default:
			return nil, fmt.Errorf("%s: argument %d is %T, it wants %s", name, i+1, a, want)
		}
		in[i] = v
	}
	if !ft.IsVariadic() && len(in) != ft.NumIn() {
		return nil, fmt.Errorf("%s: %d arguments, it takes %d", name, len(args), ft.NumIn()-1)
	}
	res := f.Call(in)
	if len(res) == 2 && !res[1].IsNil() {
		return nil, res[1].Interface().(error)
	}
	return res[0].Interface(), nil
}

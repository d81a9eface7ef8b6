package templates

import (
	"reflect"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	vars := map[string]any{"name": "postgres2", "port": 5432, "pw": "a:b\\c", "list": []any{"x", "y"}}
	cases := map[string]string{
		"host={{ .name }} port={{ .port }}":         "host=postgres2 port=5432",
		"{{ .name | upper }}":                       "POSTGRES2",
		"{{ .pw | pgpass }}":                        `a\:b\\c`,
		"{{ \"it's\" | pgq }}":                      `'it''s'`,
		"{{ \"a b'c\" | shq }}":                     `'a b'"'"'c'`,
		"{{ join \",\" .list }}":                    "x,y",
		"no template":                               "no template",
		"{{ default \"d\" .name }}":                 "postgres2",
		"{{ if eq .name \"postgres2\" }}y{{ end }}": "y",
	}
	for in, want := range cases {
		got, err := Render("t", in, vars)
		if err != nil || got != want {
			t.Errorf("Render(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestMissingKeyIsAnError(t *testing.T) {
	_, err := Render("t", "{{ .nope }}", map[string]any{})
	if err == nil || !strings.Contains(err.Error(), `undefined variable "nope"`) {
		t.Fatalf("got %v", err)
	}
}

func TestNative(t *testing.T) {
	vars := map[string]any{"list": []any{1, 2}, "m": map[string]any{"k": []any{"v"}}}
	v, ok, err := Native("{{ .list }}", vars)
	if !ok || err != nil || !reflect.DeepEqual(v, []any{1, 2}) {
		t.Errorf("Native list: %v %v %v", v, ok, err)
	}
	v, ok, _ = Native("{{ .m.k }}", vars)
	if !ok || !reflect.DeepEqual(v, []any{"v"}) {
		t.Errorf("Native path: %v", v)
	}
	if _, ok, _ := Native("x {{ .list }}", vars); ok {
		t.Error("text around a reference is not native")
	}
	if _, _, err := Native("{{ .missing }}", vars); err == nil {
		t.Error("missing variable must be an error")
	}
}

// A macro that calls itself stops at a bound with an error, never a
// stack overflow.
func TestMacroRecursionIsBounded(t *testing.T) {
	tmpl, err := Parse("t", `{{ define "macro_m" }}{{ macro "macro_m" (dict) $ }}{{ end }}{{ macro "macro_m" (dict) $ }}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Execute(tmpl, map[string]any{}); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Fatalf("err = %v", err)
	}
}

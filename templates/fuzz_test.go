package templates

import "testing"

// Templates render or fail with an error, never a panic, a hang or an
// unbounded allocation.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{`{{ .a }}`, `{{ repeat 3 "x" }}`, `{{ range .l }}{{ . }}{{ end }}`, `{{ .m.k | upper }}`, `{{ if eq .a 1 }}y{{ end }}`, `{{ shq .s }}`, `{{`} {
		f.Add(s)
	}
	vars := map[string]any{"a": 1, "l": []any{1, 2}, "m": map[string]any{"k": "v"}, "s": "it's"}
	f.Fuzz(func(t *testing.T, s string) {
		Render("fuzz", s, vars)
	})
}

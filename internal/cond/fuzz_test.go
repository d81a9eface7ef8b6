package cond

import "testing"

// Conditions are checked and evaluated without panics on any text.
func FuzzCondition(f *testing.F) {
	for _, s := range []string{`x is defined`, `"ok" in out.stdout`, `r.rc != 0 and len(l) > 1`, `lenght(x)`, `42`, `x ==`, `not (a or b)`} {
		f.Add(s)
	}
	vars := map[string]any{"x": 1, "out": map[string]any{"stdout": "ok"}, "r": map[string]any{"rc": 0}, "l": []any{1, "a"}, "a": true, "b": false}
	f.Fuzz(func(t *testing.T, s string) {
		Check(s)
		Eval(s, vars)
	})
}

package cond

import (
	"strings"
	"testing"
)

func TestEval(t *testing.T) {
	vars := map[string]any{
		"role": "primary", "pg_version": 15, "result": map[string]any{"rc": 0, "stdout": "t"},
		"hosts": []any{"a", "b"},
	}
	cases := []struct {
		expr string
		want bool
	}{
		{`role == "primary" and pg_version >= 15`, true},
		{`role == "standby" or pg_version < 15`, false},
		{`not (result.rc != 0)`, true},
		{`result.stdout == "t"`, true},
		{`"a" in hosts`, true},
		{`missing is defined`, false},
		{`missing is not defined`, true},
		{`result.rc is defined`, true},
		{`true`, true},
		{`false`, false},
	}
	for _, c := range cases {
		got, err := Eval(c.expr, vars)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s = %v, want %v", c.expr, got, c.want)
		}
	}
}

func TestEvalErrors(t *testing.T) {
	_, err := Eval(`rol == "primary"`, map[string]any{"role": "x"})
	if err == nil || !strings.Contains(err.Error(), `undefined variable "rol"`) {
		t.Errorf("undefined variable: %v", err)
	}
	// a variable's non-boolean value is judged as Python does (Ansible's
	// `until: job.finished`, an int): compared with ansible-playbook
	for v, want := range map[any]bool{0: false, 1: true, 0.0: false, "false": true, "": false, "0": true} {
		if got, err := Eval(`x`, map[string]any{"x": v}); err != nil || got != want {
			t.Errorf("when: x with x=%#v: %v %v, want %v", v, got, err, want)
		}
	}
	for _, c := range []struct {
		v    any
		want bool
	}{{[]any{}, false}, {[]any{1}, true}, {map[string]any{}, false}, {map[string]any{"a": 1}, true}, {nil, false}} {
		if got, err := Eval(`x`, map[string]any{"x": c.v}); err != nil || got != c.want {
			t.Errorf("when: x with x=%#v: %v %v, want %v", c.v, got, err, c.want)
		}
	}
	if err := Check(`a == == b`); err == nil {
		t.Error("syntax error not caught")
	}
}

// `in` is Ansible's: list element, mapping key, or substring.
func TestInIsMembershipOrSubstring(t *testing.T) {
	vars := map[string]any{"out": map[string]any{"stdout": "all ok here"}, "l": []any{"a", 1}, "m": map[string]any{"k": 1}}
	for c, want := range map[string]bool{
		`"ok" in out.stdout`: true, `"zz" in out.stdout`: false, `"zz" not in out.stdout`: true,
		`"a" in l`: true, `1 in l`: true, `"b" in l`: false, `"k" in m`: true, `"x" in m`: false,
	} {
		got, err := Eval(c, vars)
		if err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", c, got, err, want)
		}
	}
}

// Check refuses what fails on every host: unknown functions and results
// that cannot be booleans.
func TestCheckRefusesWhatCannotWork(t *testing.T) {
	for c, want := range map[string]string{
		`lenght(x) > 1`: `unknown function lenght() (did you mean "len"?)`,
		`42`:            "expected bool",
		`"text"`:        "expected bool",
		`x == `:         "unexpected token",
	} {
		if err := Check(c); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", c, err, want)
		}
	}
	for _, ok := range []string{`x is defined`, `len(x) > 0 and "a" in y`, `r.rc != 0`, `true`,
		// brackets inside a string do not count as nesting
		`x == "` + strings.Repeat("(", 500) + `"`} {
		if err := Check(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// 50,000 nested parentheses once took 19 s to refuse (quadratic work per
// level); deep nesting is refused at once, by Check and by Eval.
func TestDeepNestingRefusedAtOnce(t *testing.T) {
	deep := strings.Repeat("(", 50000) + "1" + strings.Repeat(")", 50000)
	if err := Check(deep); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("Check: %v", err)
	}
	if _, err := Eval(deep, nil); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("Eval: %v", err)
	}
	if ok, err := Eval(strings.Repeat("(", 50)+"1 == 1"+strings.Repeat(")", 50), nil); err != nil || !ok {
		t.Errorf("50 levels: %v %v", ok, err)
	}
}

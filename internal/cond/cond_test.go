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
	if _, err := Eval(`1 + 1`, map[string]any{}); err == nil {
		t.Error("a non-boolean result must be an error")
	}
	if err := Check(`a == == b`); err == nil {
		t.Error("syntax error not caught")
	}
}

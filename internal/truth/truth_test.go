package truth

import "testing"

// The three truths on the values where they part; the expected columns are
// what ansible-playbook 2.14 says (Filter and Python: internal/cli's
// TestTruthMatchesAnsible runs it; Keyword: module_utils/parsing/
// convert_bool.py's BOOLEANS_TRUE).
func TestTruths(t *testing.T) {
	cases := []struct {
		v                       any
		python, filter, keyword bool
	}{
		{"y", true, false, true},
		{"t", true, false, true},
		{"on", true, true, true},
		{"YES", true, true, true},
		{" true ", true, false, true},
		{"no", true, false, false},
		{"false", true, false, false},
		{"", false, false, false},
		{1, true, true, true},
		{2, true, false, false},
		{1.0, true, true, true},
		{0, false, false, false},
		{nil, false, false, false},
		{[]any{}, false, false, false},
		{[]any{0}, true, false, false},
		{map[string]any{}, false, false, false},
		{true, true, true, true},
	}
	for _, c := range cases {
		if got := Python(c.v); got != c.python {
			t.Errorf("Python(%#v) = %v", c.v, got)
		}
		if got := Filter(c.v); got != c.filter {
			t.Errorf("Filter(%#v) = %v", c.v, got)
		}
		if got := Keyword(c.v); got != c.keyword {
			t.Errorf("Keyword(%#v) = %v", c.v, got)
		}
	}
}

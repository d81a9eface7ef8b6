package shellwords

import (
	"reflect"
	"testing"
)

func TestSplit(t *testing.T) {
	cases := map[string][]string{
		`a b  c`:                  {"a", "b", "c"},
		`k='two words' x="a 'b'"`: {"k=two words", `x=a 'b'`},
		`x\ y 'a\b'`:              {"x y", `a\b`},
		``:                        nil,
		`"" x`:                    {"", "x"},
	}
	for in, want := range cases {
		got, err := Split(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Split(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Split(`"open`); err == nil {
		t.Error("unterminated quote accepted")
	}
}

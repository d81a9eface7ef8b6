package diag

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Alias bombs and self-references are refused at once, at their position.
func TestAliasBombsAreRefused(t *testing.T) {
	var merge, billion strings.Builder
	merge.WriteString("l0: &l0 {a: 1, b: 2}\n")
	billion.WriteString("l0: &l0 [x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 40; i++ {
		fmt.Fprintf(&merge, "l%d: &l%d {<<: [*l%d, *l%d], k%d: [*l%d, *l%d]}\n", i, i, i-1, i-1, i, i-1, i-1)
		fmt.Fprintf(&billion, "l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	cases := map[string]string{
		"self in mapping": "vars: &a\n  x: *a\n",
		"self in list":    "a: &a [*a]\n",
		"self, deeper":    "a: &a {b: {c: [1, *a]}}\n",
		"merge bomb":      merge.String(),
		"billion laughs":  billion.String(),
	}
	for name, text := range cases {
		start := time.Now()
		_, err := ParseYAML(&Source{Name: "x.yaml", Text: []byte(text)})
		if err == nil || !strings.HasPrefix(err.Error(), "x.yaml:") {
			t.Errorf("%s: %v, want a positioned error", name, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: took %v", name, d)
		}
	}
	// ordinary aliases and merge keys stay fine
	ok := "base: &b {port: 5432}\nprimary: {<<: *b, host: a}\nstandby: {<<: *b, host: b}\nlist: [*b, *b]\n"
	if _, err := ParseYAML(&Source{Name: "ok.yaml", Text: []byte(ok)}); err != nil {
		t.Errorf("ordinary aliases: %v", err)
	}
}

// FuzzParseYAML: any text is a tree or a positioned error, never a panic
// or a hang; a seed holds every alias shape the checker knows.
func FuzzParseYAML(f *testing.F) {
	for _, s := range []string{"a: &a [*a]\n", "b: &b {x: 1}\nc: {<<: *b}\n", "l: &l [1, 2]\nm: [*l, *l, *l]\n", "- &x {a: *x}\n", "x: *nope\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		doc, err := ParseYAML(&Source{Name: "f.yaml", Text: []byte(text)})
		if err == nil && doc == nil {
			t.Fatal("no tree and no error")
		}
	})
}

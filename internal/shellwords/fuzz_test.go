package shellwords

import (
	"strings"
	"testing"
)

// Splitting never panics; quoting each word back and splitting again gives
// the same words.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{`a "b c" 'd'`, `x\ y`, `"open`, `a#b # c`, `"\\"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := Split(s)
		SplitComments(s)
		if err != nil {
			return
		}
		var line string
		for i, w := range words {
			if i > 0 {
				line += " "
			}
			line += "'" + strings.ReplaceAll(w, "'", `'"'"'`) + "'"
		}
		again, err := Split(line)
		if err != nil || len(again) != len(words) {
			t.Fatalf("%q -> %q -> %q (%v)", s, words, again, err)
		}
		for i := range words {
			if again[i] != words[i] {
				t.Fatalf("%q -> %q -> %q", s, words, again)
			}
		}
	})
}

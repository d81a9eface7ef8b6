package pyre

import "testing"

func TestBackrefs(t *testing.T) {
	for in, want := range map[string]string{`\1-\2`: `${1}-${2}`, `\g<v>=\g<k>`: `${v}=${k}`, `$HOME \1`: `$$HOME ${1}`, `plain`: `plain`} {
		if got := Backrefs(in); got != want {
			t.Errorf("Backrefs(%q) = %q, want %q", in, got, want)
		}
	}
}

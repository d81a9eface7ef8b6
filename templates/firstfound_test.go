package templates

import (
	"os"
	"path/filepath"
	"testing"
)

// first_found as geerlingguy's roles write it: OS-specific vars files
// under paths, a mapping or a list, skip, and a name not found.
func TestFirstFound(t *testing.T) {
	role := t.TempDir()
	os.MkdirAll(filepath.Join(role, "vars"), 0o755)
	os.WriteFile(filepath.Join(role, "vars", "Debian.yml"), []byte("a: 1\n"), 0o644)
	os.WriteFile(filepath.Join(role, "vars", "main.yml"), []byte("a: 2\n"), 0o644)
	os.MkdirAll(filepath.Join(role, "vars", "sub"), 0o755) // a folder is not a file
	cases := []struct {
		terms any
		want  string
		err   bool
	}{
		{map[string]any{"files": []any{"Ubuntu-22.yml", "Debian.yml", "main.yml"}, "paths": []any{"vars"}}, "vars/Debian.yml", false},
		{[]any{"RedHat.yml", "main.yml"}, "vars/main.yml", false},
		{"nope.yml,main.yml", "vars/main.yml", false},
		{[]any{map[string]any{"files": []any{"x.yml"}, "skip": true}}, "", false},
		{[]any{"x.yml", "sub"}, "", true},
		{map[string]any{"files": []any{filepath.Join(role, "vars", "main.yml")}}, "vars/main.yml", false},
	}
	for _, c := range cases {
		got, err := FirstFound(c.terms, role, "")
		want := c.want
		if want != "" {
			want = filepath.Join(role, want)
		}
		if got != want || (err != nil) != c.err {
			t.Errorf("%v: %q %v, want %q (error %v)", c.terms, got, err, want, c.err)
		}
	}
}

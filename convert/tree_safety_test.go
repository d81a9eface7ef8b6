package convert

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// convert writes only under -o: never over its sources, never through a
// symbolic link planted in the output.
func TestTreeWritesOnlyUnderOut(t *testing.T) {
	dir := t.TempDir()
	role := filepath.Join(dir, "role")
	os.MkdirAll(filepath.Join(role, "tasks"), 0o755)
	orig := "- name: x\n  debug: msg={{ a }}\n"
	os.WriteFile(filepath.Join(role, "tasks", "main.yml"), []byte(orig), 0o644)
	unchanged := func(what string) {
		t.Helper()
		if b, _ := os.ReadFile(filepath.Join(role, "tasks", "main.yml")); string(b) != orig {
			t.Errorf("%s: the source was overwritten: %q", what, b)
		}
	}
	known := func(string) bool { return true }
	// -o the sources' own folder: the destination is the source
	if _, err := Tree([]string{role}, dir, known); err == nil || !strings.Contains(err.Error(), "write over") {
		t.Errorf("-o the parent: %v", err)
	}
	unchanged("-o the parent")
	// -o inside the source
	if _, err := Tree([]string{role}, filepath.Join(role, "out"), known); err == nil {
		t.Errorf("-o inside the source: no error")
	}
	unchanged("-o inside the source")
	// a source named ".." stays under out
	t.Chdir(filepath.Join(role, "tasks"))
	out := filepath.Join(t.TempDir(), "o")
	if _, err := Tree([]string{".."}, out, known); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "role", "tasks", "main.yml")); err != nil {
		t.Errorf("source '..': %v", err)
	}
	unchanged("source '..'")
	// planted links in the output: a folder and a file
	victim := t.TempDir()
	os.WriteFile(filepath.Join(victim, "precious"), []byte("keep"), 0o644)
	out2 := filepath.Join(t.TempDir(), "o")
	os.MkdirAll(filepath.Join(out2, "role"), 0o755)
	os.Symlink(victim, filepath.Join(out2, "role", "tasks"))
	if _, err := Tree([]string{role}, out2, known); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("a planted folder link: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(victim, "*")); len(m) != 1 {
		t.Errorf("written through the planted link: %v", m)
	}
	out3 := filepath.Join(t.TempDir(), "o")
	os.MkdirAll(filepath.Join(out3, "role", "tasks"), 0o755)
	os.Symlink(filepath.Join(victim, "precious"), filepath.Join(out3, "role", "tasks", "main.yml"))
	if _, err := Tree([]string{role}, out3, known); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(victim, "precious")); string(b) != "keep" {
		t.Errorf("a planted file link was followed: %q", b)
	}
}

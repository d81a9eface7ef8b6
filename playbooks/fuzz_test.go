package playbooks_test

import (
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/runbook-lab/runbook/playbooks"
)

func seedFromFiles(f *testing.F, globs ...string) {
	for _, g := range globs {
		files, _ := filepath.Glob(g)
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
}

// The loader never panics or hangs on any input: it loads or refuses.
func FuzzLoadPlaybook(f *testing.F) {
	seedFromFiles(f, "testdata/bad/*.yaml", "embedded/*.yaml")
	f.Add([]byte("- hosts: all\n  tasks:\n    - debug: msg=x\n      loop: [1, 2]\n      when: item > 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pb, err := loader().LoadText("fuzz.yaml", b)
		if err == nil && pb == nil {
			t.Fatal("no playbook and no error")
		}
	})
}

// k=v arguments: parsed or refused, never a panic.
func FuzzParseKV(f *testing.F) {
	for _, s := range []string{`a=1 b='two words'`, `x="a\"b" y=\`, `=v`, `k=`, `a='unterminated`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := playbooks.ParseKV(&yaml.Node{Kind: yaml.ScalarNode, Value: s, Line: 1, Column: 1})
		if err == nil && n.Kind != yaml.MappingNode {
			t.Fatalf("not a mapping: %v", n.Kind)
		}
	})
}

package builtin_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/runbook-lab/runbook/modules"
)

// find selects the same files as Ansible's find for the same arguments;
// slurp reads the same content; script runs a local script with its
// arguments as Ansible's script does.
func TestFindSlurpScriptMatchAnsible(t *testing.T) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("ansible-playbook not installed (make test-deps installs it)")
	}
	dir := t.TempDir()
	tree := map[string]string{"a.log": "x", "b.log.gz": "yy", "c.txt": "needle here", "sub/d.log": "zzz", ".hidden.log": "h", "sub/deep/e.txt": "needle"}
	for p, c := range tree {
		full := filepath.Join(dir, "t", p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		os.WriteFile(full, []byte(c), 0o644)
	}
	old := time.Now().Add(-10 * 24 * time.Hour)
	os.Chtimes(filepath.Join(dir, "t", "a.log"), old, old)
	os.WriteFile(filepath.Join(dir, "s.sh"), []byte("#!/bin/sh\necho \"args: $*\"\n"), 0o644)
	root := filepath.Join(dir, "t")
	cases := []map[string]any{
		{"paths": root, "patterns": "*.log"},
		{"paths": root, "patterns": "*.log", "recurse": true},
		{"paths": root, "patterns": []any{"*.log", "*.txt"}, "recurse": true, "hidden": true},
		{"paths": root, "age": "7d", "recurse": true},
		{"paths": root, "contains": "needle", "recurse": true},
		{"paths": root, "patterns": `^[ab]\..*`, "use_regex": true},
		{"paths": root, "file_type": "directory", "recurse": true},
		{"paths": root, "excludes": "*.gz", "patterns": "*", "recurse": true},
	}
	var tasks []map[string]any
	for i, c := range cases {
		tasks = append(tasks, map[string]any{"find": c, "register": fmt.Sprintf("f%d", i)})
	}
	tasks = append(tasks, map[string]any{"slurp": map[string]any{"src": filepath.Join(root, "c.txt")}, "register": "s"},
		map[string]any{"script": filepath.Join(dir, "s.sh") + " one 'two words'", "register": "sc"})
	ansible := ansiblePlay(t, dir, tasks)
	paths := func(v any) string {
		l, _ := v.([]any)
		var ps []string
		for _, e := range l {
			ps = append(ps, fmt.Sprint(e.(map[string]any)["path"]))
		}
		sort.Strings(ps)
		return strings.Join(ps, " ")
	}
	for i, c := range cases {
		want := ansible[i]
		r := run(t, "find", c)
		if got, w := paths(r.Data["files"]), paths(want["files"]); got != w {
			t.Errorf("find %v:\nrunbook %s\nAnsible %s", c, got, w)
		}
	}
	n := len(cases)
	if got, want := run(t, "slurp", map[string]any{"src": filepath.Join(root, "c.txt")}).Data["content"], ansible[n]["content"]; got != want {
		t.Errorf("slurp: %v, Ansible %v", got, want)
	}
	sc := run(t, "script", map[string]any{"cmd": filepath.Join(dir, "s.sh") + " one 'two words'"})
	if got, want := strings.TrimSpace(fmt.Sprint(sc.Data["stdout"])), strings.TrimSpace(fmt.Sprint(ansible[n+1]["stdout"])); got != want {
		t.Errorf("script: %q, Ansible %q", got, want)
	}
}

func run(t *testing.T, id string, args map[string]any) *modules.Result {
	t.Helper()
	info, _ := modules.Default.Lookup(id)
	m := info.New()
	if err := decodeInto(args, m); err != nil {
		t.Fatalf("%s %v: %v", id, args, err)
	}
	r, err := modules.Execute(context.Background(), m, env(t, false))
	if err != nil || r.Failed {
		t.Fatalf("%s %v: %v %+v", id, args, err, r)
	}
	return r
}

// assemble joins fragments as Ansible's assemble (remote_src) does.
func TestAssembleMatchesAnsible(t *testing.T) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("ansible-playbook not installed (make test-deps installs it)")
	}
	dir := t.TempDir()
	frag := filepath.Join(dir, "frag")
	os.MkdirAll(frag, 0o755)
	for n, c := range map[string]string{"10-a.conf": "a=1\n", "20-b.conf": "b=2", "05-c.conf": "c=3\n", ".hidden": "h\n", "skip.txt": "x\n"} {
		os.WriteFile(filepath.Join(frag, n), []byte(c), 0o644)
	}
	cases := []map[string]any{
		{"src": frag},
		{"src": frag, "delimiter": "### next", "regexp": `\.conf$`},
		{"src": frag, "ignore_hidden": true},
	}
	var tasks []map[string]any
	for i, c := range cases {
		args := map[string]any{"dest": filepath.Join(dir, fmt.Sprintf("ansible-%d", i)), "remote_src": true}
		for k, v := range c {
			args[k] = v
		}
		tasks = append(tasks, map[string]any{"assemble": args})
	}
	ansiblePlay(t, dir, tasks)
	for i, c := range cases {
		args := map[string]any{"dest": filepath.Join(dir, fmt.Sprintf("runbook-%d", i))}
		for k, v := range c {
			args[k] = v
		}
		run(t, "assemble", args)
		a, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("ansible-%d", i)))
		r, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("runbook-%d", i)))
		if string(a) != string(r) {
			t.Errorf("assemble %v:\nrunbook %q\nAnsible %q", c, r, a)
		}
	}
}

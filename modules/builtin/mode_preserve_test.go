package builtin_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// mode: preserve gives the copy the source's mode (a local src and one on
// the host) and a rendered template the template file's, as Ansible's copy
// and template do on the same files.
func TestModePreserveMatchesAnsible(t *testing.T) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("ansible-playbook not installed (make test-deps installs it)")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "tool.sh")
	os.WriteFile(src, []byte("#!/bin/sh\n"), 0o644)
	os.Chmod(src, 0o751)
	tmpl := filepath.Join(dir, "conf.j2")
	os.WriteFile(tmpl, []byte("port = 1\n"), 0o644)
	os.Chmod(tmpl, 0o640)
	cases := []struct {
		module string
		args   map[string]any
	}{
		{"copy", map[string]any{"src": src, "mode": "preserve"}},
		{"copy", map[string]any{"src": src, "mode": "preserve", "remote_src": true}},
		{"template", map[string]any{"src": tmpl, "mode": "preserve"}},
	}
	var tasks []map[string]any
	for i, c := range cases {
		args := map[string]any{"dest": filepath.Join(dir, "ansible-"+string(rune('a'+i)))}
		for k, v := range c.args {
			args[k] = v
		}
		tasks = append(tasks, map[string]any{c.module: args})
	}
	ansiblePlay(t, dir, tasks)
	for i, c := range cases {
		args := map[string]any{"dest": filepath.Join(dir, "runbook-"+string(rune('a'+i)))}
		for k, v := range c.args {
			args[k] = v
		}
		if _, err := runModuleChanged(t, c.module, args); err != nil {
			t.Fatalf("%s %v: %v", c.module, c.args, err)
		}
		a, errA := os.Stat(filepath.Join(dir, "ansible-"+string(rune('a'+i))))
		r, errR := os.Stat(filepath.Join(dir, "runbook-"+string(rune('a'+i))))
		if errA != nil || errR != nil || a.Mode() != r.Mode() {
			t.Errorf("%s %v: runbook %v, Ansible %v (%v %v)", c.module, c.args, r.Mode(), a.Mode(), errR, errA)
		}
	}
}

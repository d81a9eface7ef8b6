package builtin_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Symbolic modes (u+rwx, go-w, a-s, u=rw,g=r,o=, o=u, X) as Ansible's file
// and copy modules apply them: the same steps run by ansible-playbook and
// by runbook give the same changed flags and leave the same modes.
func TestSymbolicModesMatchAnsible(t *testing.T) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("ansible-playbook not installed (make test-deps installs it)")
	}
	steps := func(dir string) []map[string]any {
		a, d, c := filepath.Join(dir, "a"), filepath.Join(dir, "d"), filepath.Join(dir, "c")
		file := func(args map[string]any) map[string]any { return map[string]any{"file": args, "ignore_errors": true} }
		return []map[string]any{
			file(map[string]any{"path": a, "state": "touch", "mode": "0644"}),
			file(map[string]any{"path": a, "mode": "u+x"}),
			file(map[string]any{"path": a, "mode": "u+x"}),
			file(map[string]any{"path": a, "mode": "go-r"}),
			file(map[string]any{"path": a, "mode": "a=r"}),
			file(map[string]any{"path": a, "mode": "u=rw,g=r,o="}),
			file(map[string]any{"path": a, "mode": "u+s,g+s"}),
			file(map[string]any{"path": a, "mode": "a-s"}),
			file(map[string]any{"path": a, "mode": "a+X"}),
			file(map[string]any{"path": a, "mode": "o=u"}),
			file(map[string]any{"path": a, "mode": "+t"}),
			file(map[string]any{"path": a, "mode": "u-w+x,g=rx"}),
			file(map[string]any{"path": d, "state": "directory", "mode": "0700"}),
			file(map[string]any{"path": d, "state": "directory", "mode": "go+X"}),
			file(map[string]any{"path": d + "/in", "state": "touch", "mode": "0666", "modification_time": "preserve", "access_time": "preserve"}),
			file(map[string]any{"path": d, "state": "directory", "mode": "go-w", "recurse": true}),
			file(map[string]any{"path": d, "state": "directory", "mode": "go-w", "recurse": true}),
			{"copy": map[string]any{"content": "x\n", "dest": c, "mode": "u=rw,go=r"}, "ignore_errors": true},
			{"copy": map[string]any{"content": "x\n", "dest": c, "mode": "g+w"}, "ignore_errors": true},
			{"copy": map[string]any{"content": "x\n", "dest": c, "mode": "g+w"}, "ignore_errors": true},
		}
	}
	ansDir, rbDir := t.TempDir(), t.TempDir()
	want := ansiblePlay(t, ansDir, steps(ansDir))
	stepsMatchAnsible(t, want, steps(rbDir))
	for _, name := range []string{"a", "d", "d/in", "c"} {
		if a, r := modeOf(filepath.Join(ansDir, name)), modeOf(filepath.Join(rbDir, name)); a != r {
			t.Errorf("%s: Ansible left %s, runbook %s", name, a, r)
		}
	}
}

func modeOf(p string) string {
	st, err := os.Stat(p)
	if err != nil {
		return err.Error()
	}
	m := st.Mode()
	bits := m.Perm()
	if m&os.ModeSetuid != 0 {
		bits |= 0o4000
	}
	if m&os.ModeSetgid != 0 {
		bits |= 0o2000
	}
	if m&os.ModeSticky != 0 {
		bits |= 0o1000
	}
	return fmt.Sprintf("%04o", uint32(bits))
}

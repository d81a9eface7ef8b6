package builtin_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// The file module's timestamps as Ansible's: touch sets them to now and
// reports a change every run unless told to preserve them; an explicit
// time (in the default format or one given) is set once and then in place;
// a directory takes access_time now. The same steps run by ansible-playbook
// and by runbook give the same changed flags and the same explicit times.
func TestFileTimesMatchAnsible(t *testing.T) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("ansible-playbook not installed (make test-deps installs it)")
	}
	steps := func(dir string) []map[string]any {
		f := func(args map[string]any) map[string]any {
			return map[string]any{"file": args, "ignore_errors": true}
		}
		a, b, d := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "d")
		return []map[string]any{
			f(map[string]any{"path": a, "state": "touch"}),
			f(map[string]any{"path": a, "state": "touch"}),
			f(map[string]any{"path": a, "state": "touch", "modification_time": "preserve", "access_time": "preserve"}),
			f(map[string]any{"path": b, "state": "touch", "modification_time": "preserve", "access_time": "preserve"}),
			f(map[string]any{"path": b, "state": "touch", "modification_time": "preserve", "access_time": "preserve"}),
			f(map[string]any{"path": a, "state": "file", "modification_time": "202001021304.05"}),
			f(map[string]any{"path": a, "state": "file", "modification_time": "202001021304.05"}),
			f(map[string]any{"path": a, "state": "touch", "modification_time": "2021-03-04 05:06", "modification_time_format": "%Y-%m-%d %H:%M", "access_time": "preserve"}),
			f(map[string]any{"path": a, "state": "touch", "modification_time": "2021-03-04 05:06", "modification_time_format": "%Y-%m-%d %H:%M", "access_time": "preserve"}),
			f(map[string]any{"path": b, "access_time": "04 Jul 99 01:02:03 PM", "access_time_format": "%d %b %y %I:%M:%S %p"}),
			f(map[string]any{"path": d, "state": "directory"}),
			f(map[string]any{"path": d, "state": "directory", "access_time": "now"}),
			f(map[string]any{"path": d, "state": "directory"}),
			f(map[string]any{"path": b, "modification_time": "not a time"}),
			f(map[string]any{"path": filepath.Join(dir, "c"), "state": "touch", "modification_time": "201901010000.00", "access_time": "201901010000.00"}),
		}
	}
	ansDir, rbDir := t.TempDir(), t.TempDir()
	want := ansiblePlay(t, ansDir, steps(ansDir))
	stepsMatchAnsible(t, want, steps(rbDir))
	for _, name := range []string{"a", "b", "c"} {
		if a, r := fileTimes(filepath.Join(ansDir, name)), fileTimes(filepath.Join(rbDir, name)); a != r {
			t.Errorf("%s: Ansible left %s, runbook %s", name, a, r)
		}
	}
}

// fileTimes is a file's modification time and, when set explicitly in the
// steps above, its access time (a's access time was set to now).
func fileTimes(p string) string {
	st, err := os.Stat(p)
	if err != nil {
		return err.Error()
	}
	s := st.Sys().(*syscall.Stat_t)
	if filepath.Base(p) == "a" {
		return fmt.Sprintf("mtime %d", s.Mtim.Sec)
	}
	if filepath.Base(p) == "b" {
		return fmt.Sprintf("atime %d", s.Atim.Sec)
	}
	return fmt.Sprintf("mtime %d atime %d", s.Mtim.Sec, s.Atim.Sec)
}

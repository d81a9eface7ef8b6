package builtin_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// A real repository (svnadmin, file:// URL) with two revisions; the same
// steps by Ansible and by runbook, each into its own folder: the same
// changed flags, the same files at the end.
func TestSubversionMatchesAnsible(t *testing.T) {
	for _, tool := range []string{"ansible-playbook", "svn", "svnadmin"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (make test-deps installs it)", tool)
		}
	}
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	run := func(args ...string) {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	run("svnadmin", "create", repo)
	url := "file://" + repo
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "a.conf"), []byte("port = 1\n"), 0o644)
	run("svn", "import", "-q", "-m", "r1", src, url+"/trunk")
	run("svn", "checkout", "-q", url+"/trunk", filepath.Join(dir, "work"))
	os.WriteFile(filepath.Join(dir, "work", "a.conf"), []byte("port = 2\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "work", "b.conf"), []byte("new\n"), 0o644)
	run("svn", "add", "-q", filepath.Join(dir, "work", "b.conf"))
	run("svn", "commit", "-q", "-m", "r2", filepath.Join(dir, "work"))

	// a step is module arguments, or (edit) a local change to the copy
	type step struct {
		args map[string]any
		edit bool
	}
	steps := func(side string) []step {
		wc := filepath.Join(dir, side, "wc")
		return []step{
			{args: map[string]any{"repo": url + "/trunk", "dest": wc, "revision": "1"}},
			{args: map[string]any{"repo": url + "/trunk", "dest": wc, "revision": "1"}},
			{args: map[string]any{"repo": url + "/trunk", "dest": wc}},
			{args: map[string]any{"repo": url + "/trunk", "dest": wc}},
			{edit: true},
			{args: map[string]any{"repo": url + "/trunk", "dest": wc, "force": true}},
			{args: map[string]any{"repo": url + "/trunk", "dest": filepath.Join(dir, side, "export"), "export": true}},
			{args: map[string]any{"repo": url + "/trunk", "checkout": false, "update": false}},
		}
	}
	var tasks []map[string]any
	for _, s := range steps("ansible") {
		if s.edit {
			tasks = append(tasks, map[string]any{"copy": map[string]any{"dest": filepath.Join(dir, "ansible", "wc", "a.conf"), "content": "edited\n"}})
			continue
		}
		tasks = append(tasks, map[string]any{"subversion": s.args})
	}
	want := ansiblePlay(t, dir, tasks)
	for i, s := range steps("runbook") {
		if s.edit {
			os.WriteFile(filepath.Join(dir, "runbook", "wc", "a.conf"), []byte("edited\n"), 0o644)
			continue
		}
		// check mode first: it must foresee the run and touch nothing
		a, _ := os.ReadFile(filepath.Join(dir, "runbook", "wc", "a.conf"))
		foreseen, err := runModuleIn(t, "subversion", s.args, true)
		if b, _ := os.ReadFile(filepath.Join(dir, "runbook", "wc", "a.conf")); err != nil || string(a) != string(b) {
			t.Fatalf("step %d %v in check mode: %v; a.conf %q before, %q after", i, s.args, err, a, b)
		}
		changed, err := runModuleChanged(t, "subversion", s.args)
		if foreseen != changed {
			t.Errorf("step %d %v: check mode said changed=%v, the run %v", i, s.args, foreseen, changed)
		}
		if err != nil {
			t.Fatalf("step %d %v: %v", i, s.args, err)
		}
		if wc, _ := want[i]["changed"].(bool); wc != changed {
			t.Errorf("step %d %v: runbook changed=%v, Ansible %v", i, s.args, changed, wc)
		}
	}
	for _, f := range []string{"wc/a.conf", "wc/b.conf", "export/a.conf", "export/b.conf"} {
		a, _ := os.ReadFile(filepath.Join(dir, "ansible", f))
		r, err := os.ReadFile(filepath.Join(dir, "runbook", f))
		if err != nil || string(a) != string(r) {
			t.Errorf("%s: runbook %q (%v), Ansible %q", f, r, err, a)
		}
	}
}

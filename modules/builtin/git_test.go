package builtin_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// git leaves working copies at the same commits as Ansible's git module,
// for the default branch, a tag and a branch, before and after the
// upstream moves; a run with nothing new changes nothing.
func TestGitMatchesAnsible(t *testing.T) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("ansible-playbook not installed (make test-deps installs it)")
	}
	dir := t.TempDir()
	up := filepath.Join(dir, "upstream")
	run := func(args ...string) string {
		t.Helper()
		c := exec.Command("git", args...)
		c.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t", "HOME="+dir)
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("init", "-q", "-b", "main", up)
	commit := func(msg string) {
		os.WriteFile(filepath.Join(up, "f"), []byte(msg), 0o644)
		run("-C", up, "add", "f")
		run("-C", up, "commit", "-q", "-m", msg)
	}
	commit("one")
	run("-C", up, "tag", "v1")
	run("-C", up, "branch", "dev")
	commit("two")
	run("-C", up, "tag", "-a", "-m", "annotated", "v2")
	versions := []string{"HEAD", "v1", "dev", "v2"}
	ansible := func() {
		var tasks []map[string]any
		for i, v := range versions {
			tasks = append(tasks, map[string]any{"git": map[string]any{"repo": up, "dest": filepath.Join(dir, "ansible", fmt.Sprint(i)), "version": v}})
		}
		ansiblePlay(t, dir, tasks)
	}
	check := func(stage string, wantChanged []bool) {
		for i, v := range versions {
			// check mode first: it says what the run will do and moves nothing
			dest := filepath.Join(dir, "runbook", fmt.Sprint(i))
			head := ""
			if _, err := os.Stat(dest); err == nil {
				head = run("-C", dest, "rev-parse", "HEAD")
			}
			changed, err := runModuleIn(t, "git", map[string]any{"repo": up, "dest": dest, "version": v}, true)
			if err != nil || changed != wantChanged[i] {
				t.Errorf("%s %s in check mode: changed=%v (%v), want %v", stage, v, changed, err, wantChanged[i])
			}
			if head != "" && run("-C", dest, "rev-parse", "HEAD") != head {
				t.Errorf("%s %s: check mode moved the working copy", stage, v)
			}
			for round := 0; round < 2; round++ {
				changed, err := runModuleChanged(t, "git", map[string]any{"repo": up, "dest": filepath.Join(dir, "runbook", fmt.Sprint(i)), "version": v})
				if err != nil {
					t.Fatalf("%s %s: %v", stage, v, err)
				}
				if want := round == 0 && wantChanged[i]; changed != want {
					t.Errorf("%s %s round %d: changed=%v, want %v", stage, v, round, changed, want)
				}
			}
			a := run("-C", filepath.Join(dir, "ansible", fmt.Sprint(i)), "rev-parse", "HEAD")
			r := run("-C", filepath.Join(dir, "runbook", fmt.Sprint(i)), "rev-parse", "HEAD")
			if a != r {
				t.Errorf("%s %s: runbook at %s, Ansible at %s", stage, v, r, a)
			}
		}
	}
	ansible()
	check("clone", []bool{true, true, true, true})
	commit("three")
	run("-C", up, "checkout", "-q", "dev")
	commit("dev-two")
	run("-C", up, "checkout", "-q", "main")
	ansible()
	check("update", []bool{true, false, true, false})
}

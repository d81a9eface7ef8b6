package builtin_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// yumSteps run in order in one repos dir, each on what the earlier left.
var yumSteps = []map[string]any{
	{"name": "pgdg15", "description": "PostgreSQL 15", "baseurl": "https://example.org/15/$basearch", "gpgcheck": true, "enabled": true},
	{"name": "pgdg15", "description": "PostgreSQL 15", "baseurl": "https://example.org/15/$basearch", "gpgcheck": true, "enabled": true},
	{"name": "pgdg16", "description": "PostgreSQL 16", "file": "pgdg15", "baseurl": []string{"https://a.example.org/16", "https://b.example.org/16"},
		"gpgkey": []string{"https://example.org/k1", "https://example.org/k2"}, "exclude": []string{"postgresql15*", "pgpool*"}, "priority": "10"},
	{"name": "pgdg15", "description": "PostgreSQL 15 (new)", "baseurl": "https://example.org/15/$basearch", "sslverify": false, "skip_if_unavailable": true},
	{"name": "epel", "description": "EPEL", "metalink": "https://mirrors.example.org/metalink?repo=epel-9", "repo_gpgcheck": false, "mode": "0600"},
	{"name": "pgdg16", "file": "pgdg15", "state": "absent"},
	{"name": "pgdg15", "state": "absent"},
	{"name": "pgdg15", "state": "absent"},
	{"name": "legacy", "description": "Hand-written", "baseurl": "http://x/", "file": "hand"},
}

// The same steps by Ansible and by runbook in two folders: the same changed
// flags step by step and the same files (bytes and modes) at the end, with a
// hand-written file (comments, a colon, a continuation line) in both first.
func TestYumRepositoryMatchesAnsible(t *testing.T) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("ansible-playbook not installed (make test-deps installs it)")
	}
	dir := t.TempDir()
	hand := "# written by hand\n[legacy]\nname: Hand-written\nbaseurl = http://x/\n  http://y/\nenabled=1\n\n[other]\nname = Other\nbaseurl = http://o/\n"
	var tasks []map[string]any
	for _, side := range []string{"ansible", "runbook"} {
		os.MkdirAll(filepath.Join(dir, side), 0o755)
		os.WriteFile(filepath.Join(dir, side, "hand.repo"), []byte(hand), 0o644)
	}
	for _, s := range yumSteps {
		args := map[string]any{"reposdir": filepath.Join(dir, "ansible")}
		for k, v := range s {
			args[k] = v
		}
		tasks = append(tasks, map[string]any{"yum_repository": args})
	}
	want := ansiblePlay(t, dir, tasks)
	for i, s := range yumSteps {
		args := map[string]any{"reposdir": filepath.Join(dir, "runbook")}
		for k, v := range s {
			args[k] = v
		}
		changed, err := runModuleChanged(t, "yum_repository", args)
		if err != nil {
			t.Fatalf("step %d %v: %v", i, s, err)
		}
		if wc, _ := want[i]["changed"].(bool); wc != changed {
			t.Errorf("step %d %v: runbook changed=%v, Ansible %v", i, s, changed, wc)
		}
	}
	files := func(side string) string {
		out := ""
		found, _ := filepath.Glob(filepath.Join(dir, side, "*"))
		for _, f := range found {
			b, _ := os.ReadFile(f)
			st, _ := os.Stat(f)
			out += fmt.Sprintf("== %s %o\n%s", filepath.Base(f), st.Mode().Perm(), b)
		}
		return out
	}
	if a, r := files("ansible"), files("runbook"); a != r || a == "" {
		t.Errorf("files after Ansible:\n%s\nafter runbook:\n%s", a, r)
	}
}

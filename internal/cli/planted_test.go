package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A playbook planted in the current folder under a lab command's name is
// never what the lab command runs: lab commands and bare names run the
// embedded playbook; only a path (./verify.yaml) runs the file.
func TestPlantedPlaybooksAreIgnored(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("RUNBOOK_LAB_FILE", filepath.Join(dir, "no-lab.yaml"))
	for _, name := range []string{"status.yaml", "verify.yaml", "failover-drill.yaml", "recover-primary.yaml"} {
		planted := "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n    - file: {path: " +
			filepath.Join(dir, "PWNED-"+name) + ", state: touch}\n"
		if err := os.WriteFile(name, []byte(planted), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"status"}, {"verify"}, {"play", "verify.yaml"}, {"play", "failover-drill.yaml", "-e", "mode=kill"},
		{"play", "recover-primary.yaml", "-l", "postgres1"}} {
		var out bytes.Buffer
		code := Main(args, strings.NewReader(""), &out, &out)
		if code == 0 {
			t.Errorf("%v with no lab: exit 0\n%s", args, out.String())
		}
		if args[0] == "play" && !strings.Contains(out.String(), "running the embedded "+args[1]) {
			t.Errorf("%v does not say it runs the embedded playbook:\n%s", args, out.String())
		}
		if m, _ := filepath.Glob(filepath.Join(dir, "PWNED-*")); len(m) > 0 {
			t.Fatalf("%v ran a planted playbook: %v\n%s", args, m, out.String())
		}
	}
	// the control: a path is the user's own file
	var out bytes.Buffer
	if code := Main([]string{"play", "./verify.yaml"}, strings.NewReader(""), &out, &out); code != 0 {
		t.Fatalf("./verify.yaml: exit %d\n%s", code, out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "PWNED-verify.yaml")); err != nil {
		t.Errorf("./verify.yaml did not run the file: %v", err)
	}
}

// What runbook writes on the controller where another user could have
// planted a symbolic link first (issue: hostile hosts) is never written
// through it: the retry file, a campaign's report folder (a profile:
// internal/profile; a drill's report: modules/pg).
func TestPlantedLinksAtWhatRunbookWrites(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("precious\n"), 0o644)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	os.MkdirAll(filepath.Join(dir, "cache", "runbook"), 0o700)
	os.Symlink(victim, filepath.Join(dir, "cache", "runbook", "fails.retry"))
	os.WriteFile("fails.yaml", []byte("- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n    - fail: {msg: on purpose}\n"), 0o644)
	var out bytes.Buffer
	if code := Main([]string{"play", "./fails.yaml"}, strings.NewReader(""), &out, &out); code == 0 {
		t.Fatalf("a failing play: exit 0\n%s", out.String())
	}
	// a campaign's folder planted as a link to a folder of the victim's
	victimDir := filepath.Join(dir, "victim-dir")
	os.Mkdir(victimDir, 0o755)
	os.Symlink(victimDir, filepath.Join(dir, "repeat-kill"))
	out.Reset()
	if code := Main([]string{"play", "failover-drill.yaml", "-e", "mode=kill", "-e", "repeat=2", "-e", "report_dir=" + dir}, strings.NewReader(""), &out, &out); code == 0 ||
		!strings.Contains(out.String(), "refusing to write in it") {
		t.Errorf("a campaign into a planted link: exit %d\n%s", code, out.String())
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Errorf("a planted link was written through: the victim now holds %q", b)
	}
	if entries, _ := os.ReadDir(victimDir); len(entries) > 0 {
		t.Errorf("the campaign wrote into the planted folder: %v", entries)
	}
}

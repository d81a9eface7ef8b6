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

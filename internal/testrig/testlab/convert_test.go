package testlab_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/convert"
	"github.com/runbook-lab/runbook/internal/testrig/testlab"
	"github.com/runbook-lab/runbook/modules"
)

// A real public role (ansible-examples' roletest.yml and its role foo,
// with parameters, a file, a template reading a fact, a notified handler),
// converted by runbook convert and run by runbook on one lab host, leaves
// the same files as Ansible's run of the original on another lab host.
func TestConvertedRoleMatchesAnsible(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("ansible-playbook not installed (make test-deps installs it)")
	}
	lab := testlab.Hosts(t, 4)
	src, _ := filepath.Abs("../../../convert/testdata/corpus/language_features")
	out := t.TempDir()
	known := func(m string) bool { _, ok := modules.Default.Lookup(m); return ok }
	r, err := convert.Tree([]string{src}, out, known)
	if err != nil {
		t.Fatal(err)
	}
	for _, is := range r.Issues {
		if strings.Contains(is.File, "roletest") || strings.Contains(is.File, "roles/foo") {
			t.Errorf("convert: %s", is)
		}
	}
	// Ansible, the original, on postgres3
	cmd := exec.Command("ip", "netns", "exec", lab.NS, "ansible-playbook", "-i", lab.InventoryFile, "-l", "postgres3", filepath.Join(src, "roletest.yml"))
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "ANSIBLE_SSH_ARGS=-o UserKnownHostsFile="+lab.KnownHosts+" -o StrictHostKeyChecking=accept-new",
		"ANSIBLE_LOCALHOST_WARNING=false")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ansible-playbook: %v\n%s", err, b)
	}
	// runbook, the converted one, on postgres2
	code, outText := runbook(t, lab, "play", filepath.Join(out, "language_features", "roletest.yml"), "-l", "postgres2")
	if code != 0 {
		t.Fatalf("runbook play (exit %d):\n%s", code, outText)
	}
	if !strings.Contains(outText, "blippy") {
		t.Errorf("the notified handler did not run:\n%s", outText)
	}
	for _, f := range []string{"/tmp/roles_test1.txt", "/tmp/roles_test2.txt"} {
		code, a := runbook(t, lab, "run", "postgres3", "-m", "shell", "-a", "stat -c '%a %U %G %s' "+f+"; cat "+f)
		code2, b := runbook(t, lab, "run", "postgres2", "-m", "shell", "-a", "stat -c '%a %U %G %s' "+f+"; cat "+f)
		if code != 0 || code2 != 0 {
			t.Fatalf("reading %s: %d %d\n%s\n%s", f, code, code2, a, b)
		}
		body := func(s string) string { // the command's stdout lines
			_, after, ok := strings.Cut(s, "  stdout:\n")
			if !ok {
				return s
			}
			var lines []string
			for _, l := range strings.Split(after, "\n") {
				if !strings.HasPrefix(l, "    ") {
					break
				}
				lines = append(lines, strings.TrimPrefix(l, "    "))
			}
			return strings.Join(lines, "\n")
		}
		if !strings.Contains(body(b), "644 root root") {
			t.Errorf("%s on postgres2: %q (want mode, owner, size and content)", f, body(b))
		}
		if f == "/tmp/roles_test2.txt" && !strings.Contains(body(b), "I am a Debian distribution.") {
			t.Errorf("the template did not render the fact: %q", body(b))
		}
		if body(a) != body(b) {
			t.Errorf("%s differs:\nAnsible (postgres3): %s\nrunbook (postgres2): %s", f, body(a), body(b))
		}
	}
}

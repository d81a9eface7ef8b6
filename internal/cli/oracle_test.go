package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// bothPlay runs playbook, a file in srcDir, with ansible-playbook on
// localhost (the oracle), then converts srcDir with runbook convert and
// runs the converted playbook with runbook; it returns both outputs. env
// adds to ansible-playbook's environment.
func bothPlay(t *testing.T, srcDir, playbook string, env ...string) (ansible, runbook string) {
	t.Helper()
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("ansible-playbook not installed (make test-deps installs it)")
	}
	cmd := exec.Command("ansible-playbook", "-i", "localhost,", "-c", "local", filepath.Join(srcDir, playbook))
	cmd.Env = append(append(os.Environ(), "ANSIBLE_LOCALHOST_WARNING=false"), env...)
	aout, err := cmd.Output()
	if err != nil {
		t.Fatalf("ansible-playbook: %v\n%s", err, aout)
	}
	out := filepath.Join(filepath.Dir(srcDir), "converted")
	if r := runMain(t, "", "convert", srcDir, "-o", out); r.code != 0 {
		t.Fatalf("convert: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	inv := writeFile(t, filepath.Dir(srcDir), "hosts", "localhost ansible_connection=local\n")
	r := runMain(t, "", "play", filepath.Join(out, filepath.Base(srcDir), playbook), "-i", inv)
	if r.code != 0 {
		t.Fatalf("runbook: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	return string(aout), r.stdout
}

// srcDir is a fresh folder for an oracle test's sources (convert's output
// goes beside it, never inside).
func srcDir(t *testing.T) string {
	d := filepath.Join(t.TempDir(), "src")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Idioms of public roles that once failed to load (issue: Ansible round
// 2): include_tasks of "{{ role_path }}/tasks/x.yml", a templated notify,
// fail with a list as its message. Ansible and runbook (after convert) do
// the same.
func TestRoleIdiomsMatchAnsible(t *testing.T) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("ansible-playbook not installed (make test-deps installs it)")
	}
	dir := filepath.Join(t.TempDir(), "src")
	for _, d := range []string{"roles/r1/tasks", "roles/r1/handlers"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	writeFile(t, dir, "roles/r1/tasks/main.yml", "- include_tasks: \"{{ role_path }}/tasks/x.yml\"\n- command: \"true\"\n  notify: \"restart {{ svc }}\"\n  changed_when: true\n")
	writeFile(t, dir, "roles/r1/tasks/x.yml", "- debug: msg=\"included x\"\n")
	writeFile(t, dir, "roles/r1/handlers/main.yml", "- name: restart web\n  debug: msg=\"handler ran\"\n- name: restart db\n  debug: msg=\"wrong handler\"\n")
	src := writeFile(t, dir, "play.yml", "- hosts: localhost\n  gather_facts: false\n  vars: {svc: web}\n  roles: [r1]\n  tasks:\n    - fail:\n        msg: [\"first line\", \"second line\"]\n      ignore_errors: true\n")
	cmd := exec.Command("ansible-playbook", "-i", "localhost,", "-c", "local", src)
	cmd.Env = append(os.Environ(), "ANSIBLE_LOCALHOST_WARNING=false")
	aout, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ansible-playbook: %v\n%s", err, aout)
	}
	out := filepath.Join(filepath.Dir(dir), "converted")
	if r := runMain(t, "", "convert", dir, "-o", out); r.code != 0 {
		t.Fatalf("convert: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	inv := writeFile(t, dir, "hosts", "localhost ansible_connection=local\n")
	r := runMain(t, "", "play", filepath.Join(out, filepath.Base(dir), "play.yml"), "-i", inv)
	if r.code != 0 {
		t.Fatalf("runbook: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"included x", "handler ran", "first line"} {
		if !strings.Contains(string(aout), want) || !strings.Contains(r.stdout, want) {
			t.Errorf("%q: Ansible %v, runbook %v\n%s", want, strings.Contains(string(aout), want), strings.Contains(r.stdout, want), r.stdout)
		}
	}
	if strings.Contains(string(aout), "wrong handler") || strings.Contains(r.stdout, "wrong handler") {
		t.Errorf("the other handler ran\n%s", r.stdout)
	}
}

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Idioms of public roles that once failed to load (issue: Ansible round
// 2): include_tasks of "{{ role_path }}/tasks/x.yml", a templated notify,
// fail with a list as its message. Ansible and runbook (after convert) do
// the same.
func TestRoleIdiomsMatchAnsible(t *testing.T) {
	dir := srcDir(t)
	for _, d := range []string{"roles/r1/tasks", "roles/r1/handlers"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	writeFile(t, dir, "roles/r1/tasks/main.yml", "- include_tasks: \"{{ role_path }}/tasks/x.yml\"\n- command: \"true\"\n  notify: \"restart {{ svc }}\"\n  changed_when: true\n")
	writeFile(t, dir, "roles/r1/tasks/x.yml", "- debug: msg=\"included x\"\n")
	writeFile(t, dir, "roles/r1/handlers/main.yml", "- name: restart web\n  debug: msg=\"handler ran\"\n- name: restart db\n  debug: msg=\"wrong handler\"\n")
	writeFile(t, dir, "play.yml", "- hosts: localhost\n  gather_facts: false\n  vars: {svc: web}\n  roles: [r1]\n  tasks:\n    - fail:\n        msg: [\"first line\", \"second line\"]\n      ignore_errors: true\n")
	aout, rout := bothPlay(t, dir, "play.yml")
	for _, want := range []string{"included x", "handler ran", "first line"} {
		if !strings.Contains(aout, want) || !strings.Contains(rout, want) {
			t.Errorf("%q: Ansible %v, runbook %v\n%s", want, strings.Contains(aout, want), strings.Contains(rout, want), rout)
		}
	}
	if strings.Contains(aout, "wrong handler") || strings.Contains(rout, "wrong handler") {
		t.Errorf("the other handler ran\n%s", rout)
	}
}

package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A role with meta/argument_specs.yml, the shapes roles publish.
const argSpecRole = `argument_specs:
  main:
    short_description: a database role
    options:
      db_port:
        type: int
        required: true
        description: the port it listens on
      db_mode:
        type: str
        choices: [primary, standby]
        default: primary
      db_users:
        type: list
        elements: str
      db_ports:
        type: list
        elements: int
      db_tls:
        type: bool
      db_conf:
        type: dict
        options:
          name: {type: str, required: true}
          size: {type: int}
`

// Each case: the role's parameters (as task vars of include_role).
var argSpecCases = []string{
	`{db_port: 5432}`,
	`{db_port: "5433", db_mode: standby, db_tls: "yes"}`,
	`{db_mode: primary}`,
	`{db_port: abc}`,
	`{db_port: 1, db_mode: witness}`,
	`{db_port: 1, db_ports: [1, "x"]}`,
	`{db_port: 1, db_users: "a,b"}`,
	`{db_port: 1, db_conf: {size: 3}}`,
	`{db_port: 1, db_conf: {name: x, size: "many"}}`,
	`{db_port: 1, db_tls: maybe}`,
}

var caseRE = regexp.MustCompile(`case (\d+): (ran|REFUSED)`)

// Roles with an argument spec refuse the parameters Ansible refuses, before
// any task of theirs runs, and accept what it accepts.
func TestRoleArgumentSpecsMatchAnsible(t *testing.T) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("ansible-playbook not installed (make test-deps installs it)")
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "roles", "db", "meta"), 0o755)
	os.MkdirAll(filepath.Join(dir, "roles", "db", "tasks"), 0o755)
	writeFile(t, dir, "roles/db/meta/argument_specs.yml", argSpecRole)
	writeFile(t, dir, "roles/db/tasks/main.yml", "- debug: {msg: role task}\n  register: role_ran\n")
	var pb strings.Builder
	pb.WriteString("- hosts: localhost\n  gather_facts: false\n  tasks:\n")
	for i, c := range argSpecCases {
		fmt.Fprintf(&pb, `    - block:
        - include_role: {name: db}
          vars: %s
        - debug: {msg: "case %d: ran"}
      rescue:
        - debug: {msg: "case %d: REFUSED"}
`, c, i, i)
	}
	play := writeFile(t, dir, "site.yml", pb.String())
	cmd := exec.Command("ansible-playbook", "-i", "localhost,", "-c", "local", play)
	cmd.Env = append(os.Environ(), "ANSIBLE_LOCALHOST_WARNING=false")
	aout, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ansible-playbook: %v\n%s", err, aout)
	}
	inv := writeFile(t, dir, "hosts", "localhost ansible_connection=local\n")
	r := runMain(t, "", "play", play, "-i", inv)
	if r.code != 0 {
		t.Fatalf("runbook: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	verdicts := func(out string) string {
		var l []string
		for _, m := range caseRE.FindAllStringSubmatch(out, -1) {
			l = append(l, m[0])
		}
		return strings.Join(l, "\n")
	}
	want, got := verdicts(string(aout)), verdicts(r.stdout)
	if strings.Count(want, "case") != len(argSpecCases) || !strings.Contains(want, "REFUSED") || !strings.Contains(want, "ran") || got != want {
		t.Errorf("Ansible:\n%s\nrunbook:\n%s\n(runbook output)\n%s", want, got, r.stdout)
	}
}

package cli

import (
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var dynPlay = `- hosts: all
  gather_facts: false
  tasks:
    - include_tasks: "tasks/setup-[[ os ]].yml"
    - debug: {msg: after}
`

// hostLines are the "host: what" facts a run shows: which file's task ran
// on which host, which host failed, which went on after.
var dynRE = regexp.MustCompile(`(?m)(?:(?:ok|fatal): \[(h\d)\]|^(h\d) \|)[^\n]*?(from Debian|from RedHat|after|none of the files|Could not find or access)`)

// include_tasks with a templated file name picks each host's own file, and
// a host whose name matches no file fails, as in Ansible.
func TestDynamicIncludeMatchesAnsible(t *testing.T) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("ansible-playbook not installed (make test-deps installs it)")
	}
	dir := t.TempDir()
	os.MkdirAll(dir+"/tasks", 0o755)
	writeFile(t, dir, "tasks/setup-Debian.yml", "- debug: {msg: from Debian}\n")
	writeFile(t, dir, "tasks/setup-RedHat.yml", "- debug: {msg: from RedHat}\n- debug: {msg: from RedHat}\n")
	inv := writeFile(t, dir, "hosts", "h1 ansible_connection=local os=Debian\nh2 ansible_connection=local os=RedHat\nh3 ansible_connection=local os=Suse\n")
	cmd := exec.Command("ansible-playbook", "-i", inv, writeFile(t, dir, "a.yml", strings.NewReplacer("[[", "{{", "]]", "}}").Replace(dynPlay)))
	cmd.Env = append(os.Environ(), "ANSIBLE_LOCALHOST_WARNING=false", "ANSIBLE_STDOUT_CALLBACK=oneline")
	aout, _ := cmd.CombinedOutput()
	r := runMain(t, "", "play", writeFile(t, dir, "r.yml", strings.NewReplacer("[[ ", "{{ .", "]]", "}}").Replace(dynPlay)), "-i", inv)
	facts := func(out string) string {
		var l []string
		for _, m := range dynRE.FindAllStringSubmatch(out, -1) {
			what := m[3]
			if what == "Could not find or access" {
				what = "none of the files" // each says it its way
			}
			l = append(l, m[1]+m[2]+": "+what)
		}
		sort.Strings(l)
		return strings.Join(l, "\n")
	}
	want, got := facts(string(aout)), facts(r.stdout)
	if !strings.Contains(want, "h1: from Debian") || !strings.Contains(want, "h3: none of the files") || got != want {
		t.Errorf("Ansible:\n%s\nrunbook:\n%s\n(runbook output)\n%s", want, got, r.stdout)
	}
}

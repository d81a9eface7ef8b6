package cli

import (
	"regexp"
	"strings"
	"testing"
)

// truthPlay turns values that Ansible's three truths disagree on into
// true or false every way a playbook does: the bool filter, a bare
// condition (Python's truth), a condition with the bool filter, Jinja's
// `not` and inline if, and the truthy test.
const truthPlay = `- hosts: localhost
  gather_facts: false
  vars:
    vals: ['y', 't', 'on', 'YES', ' true ', 'True', '1', 1, 2, 1.0, 0, 0.0, 'off', 'no', 'false', 'n', '', [], [0], {}]
  tasks:
    - debug:
        msg: "truth {{ idx }} bool={{ item | bool }} not={{ not item }} if={{ 'T' if item else 'F' }} test={{ item is truthy }}"
      loop: "{{ vals }}"
      loop_control: {index_var: idx}
    - debug: {msg: "truth {{ idx }} when-bool"}
      loop: "{{ vals }}"
      loop_control: {index_var: idx}
      when: item | bool
    - debug: {msg: "truth {{ idx }} when-bare"}
      loop: "{{ vals }}"
      loop_control: {index_var: idx}
      when: item
    - debug: {msg: "truth {{ idx }} when-not-bool"}
      loop: "{{ vals }}"
      loop_control: {index_var: idx}
      when: not (item | bool)
`

var truthLineRE = regexp.MustCompile(`truth \d+ [^"\n]*`)

// The same playbook, converted by runbook convert, gives every line
// ansible-playbook gives (Debian's ansible-core).
func TestTruthMatchesAnsible(t *testing.T) {
	dir := srcDir(t)
	writeFile(t, dir, "truth.yaml", truthPlay)
	aout, rout := bothPlay(t, dir, "truth.yaml", "ANSIBLE_STDOUT_CALLBACK=json")
	lines := func(out string) string {
		// Python prints True/False, Go true/false
		return strings.ToLower(strings.Join(truthLineRE.FindAllString(out, -1), "\n"))
	}
	want, got := lines(aout), lines(rout)
	if strings.Count(want, "\n") < 40 || want != got {
		t.Errorf("Ansible:\n%s\nrunbook:\n%s", want, got)
	}
}

// A templated keyword is read with Ansible's boolean(): "t", "y" and
// " yes " make ignore_errors true there (checked with ansible-playbook:
// "...ignoring"), so the play goes on; both keywords may name the loop's
// item (Ansible templates them per item), and an item whose no_log is
// true shows nothing of itself.
func TestKeywordTruthMatchesAnsible(t *testing.T) {
	dir := t.TempDir()
	play := writeFile(t, dir, "p.yaml", `- hosts: localhost
  gather_facts: false
  tasks:
    - command: "false"
      ignore_errors: "{{ .item }}"
      loop: ["t", "y", " yes "]
    - debug: {msg: "{{ .item.v }}"}
      no_log: "{{ .item.hide }}"
      loop: [{v: hidden-value-1, hide: "t"}, {v: shown-value-2, hide: "no"}]
    - debug: {msg: survived}
`)
	inv := writeFile(t, dir, "hosts", "localhost ansible_connection=local\n")
	r := runMain(t, "", "play", play, "-i", inv)
	if r.code != 0 || !strings.Contains(r.stdout, "survived") || strings.Contains(r.stdout, "hidden-value-1") || !strings.Contains(r.stdout, "shown-value-2") {
		t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

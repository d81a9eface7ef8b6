package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// asyncPlay is the same playbook for Ansible (Jinja) and runbook (Go
// templates): a job started with poll: 0 and read with async_status until
// it finishes, a failing job, a job cleaned up, and async with poll that
// runs out of time; async and poll templated as roles write them. Each debug line prints the fields a playbook reads.
const asyncPlay = `- hosts: localhost
  gather_facts: false
  vars: {job_async: 20, job_poll: 0, late_async: 1}
  tasks:
    - command: sh -c 'sleep 1; echo done'
      async: "[[ job_async ]]"
      poll: "[[ job_poll ]]"
      register: job
    - debug: {msg: "started=[[ job.started ]] finished=[[ job.finished ]] changed=[[ job.changed ]]"}
    - async_status: {jid: "[[ job.ansible_job_id ]]"}
      register: st
      until: st.finished
      retries: 40
      delay: 0.25
    - debug: {msg: "finished=[[ st.finished ]] rc=[[ st.rc ]] stdout=[[ st.stdout ]] changed=[[ st.changed ]] failed=[[ st.failed ]]"}
    - command: sh -c 'exit 3'
      async: 20
      poll: 0
      register: bad
    - async_status: {jid: "[[ bad.ansible_job_id ]]"}
      register: badst
      until: badst.finished
      retries: 40
      delay: 0.25
      ignore_errors: true
    - debug: {msg: "finished=[[ badst.finished ]] rc=[[ badst.rc ]] failed=[[ badst.failed ]]"}
    - async_status: {jid: "[[ bad.ansible_job_id ]]", mode: cleanup}
      register: cl
    - debug: {msg: "started=[[ cl.started ]] finished=[[ cl.finished ]]"}
    - command: sleep 5
      async: "[[ late_async ]]"
      poll: 1
      register: late
      ignore_errors: true
    - debug: {msg: "failed=[[ late.failed ]] msg=[[ late.msg ]]"}
`

var debugMsgRE = regexp.MustCompile(`"msg": "((?:started|finished|failed)=[^"]*)"|=> ((?:started|finished|failed)=.*)`)

// async and async_status give what Ansible gives (Debian's ansible-core).
func TestAsyncMatchesAnsible(t *testing.T) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("ansible-playbook not installed (make test-deps installs it)")
	}
	dir := t.TempDir()
	jinja := strings.NewReplacer("[[", "{{", "]]", "}}").Replace(asyncPlay)
	gotmpl := regexp.MustCompile(`\[\[ (\w)`).ReplaceAllString(asyncPlay, "{{ .$1")
	gotmpl = strings.ReplaceAll(gotmpl, "]]", "}}")
	cmd := exec.Command("ansible-playbook", "-i", "localhost,", "-c", "local", writeFile(t, dir, "a.yaml", jinja))
	cmd.Env = append(os.Environ(), "ANSIBLE_ASYNC_DIR="+filepath.Join(dir, "async"), "ANSIBLE_LOCALHOST_WARNING=false", "ANSIBLE_STDOUT_CALLBACK=json")
	aout, err := cmd.Output()
	if err != nil {
		t.Fatalf("ansible-playbook: %v\n%s", err, aout)
	}
	inv := writeFile(t, dir, "hosts", "localhost ansible_connection=local\n")
	r := runMain(t, "", "play", writeFile(t, dir, "r.yaml", gotmpl), "-i", inv)
	if r.code != 0 {
		t.Fatalf("runbook: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	lines := func(out string) []string {
		var l []string
		for _, m := range debugMsgRE.FindAllStringSubmatch(out, -1) {
			// Python prints True/False, Go true/false
			l = append(l, strings.ToLower(m[1]+m[2]))
		}
		return l
	}
	want, got := lines(string(aout)), lines(r.stdout)
	if len(want) != 5 || strings.Join(want, "\n") != strings.Join(got, "\n") {
		t.Errorf("Ansible:\n%s\nrunbook:\n%s\n(runbook output)\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"), r.stdout)
	}
}

package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/internal/testrig/sshtest"
)

// A module runbook has no Go code for runs as Ansible runs it, from its
// Python source: a playbook's library/ module (with check mode and a
// diff), a collection module, and a module that fails on bad arguments.
// Ansible (the oracle) runs the same playbook; both say the same.
func TestPythonModulesRunAsAnsibleRunsThem(t *testing.T) {
	src := srcDir(t)
	if err := os.MkdirAll(filepath.Join(src, "library"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(src, "library"), "hello.py", `#!/usr/bin/python
from ansible.module_utils.basic import AnsibleModule
import os


def main():
    m = AnsibleModule(argument_spec=dict(path=dict(type='path', required=True), word=dict(type='str', default='hello')),
                      supports_check_mode=True)
    p = m.params['path']
    if os.path.exists(p):
        with open(p) as f:
            m.exit_json(changed=False, greeting=f.read())
    if not m.check_mode:
        with open(p, 'w') as f:
            f.write(m.params['word'])
    m.exit_json(changed=True, greeting=m.params['word'], diff=dict(before='', after=m.params['word'] + '\n'))


main()
`)
	// modules in another language: a WANT_JSON script and an old-style one
	// (key='value' words a shell can source)
	shout := writeFile(t, filepath.Join(src, "library"), "shout.sh", "#!/bin/sh\n# WANT_JSON\nword=$(sed -n 's/.*\"word\": *\"\\([^\"]*\\)\".*/\\1/p' \"$1\")\nprintf '{\"changed\": false, \"shout\": \"%s!\"}\\n' \"$word\"\n")
	old := writeFile(t, filepath.Join(src, "library"), "oldstyle", "#!/bin/sh\n. \"$1\"\nprintf '{\"changed\": true, \"got\": \"%s\"}\\n' \"$word\"\n")
	for _, f := range []string{shout, old} {
		if err := os.Chmod(f, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	csv := writeFile(t, t.TempDir(), "nodes.csv", "name,role\npg1,primary\npg2,standby\n")
	writeFile(t, src, "play.yml", strings.Replace(`- hosts: all
  gather_facts: false
  tasks:
    - hello:
        path: "{{ playbook_dir }}/../greeting"
      check_mode: true
      register: h0
    - hello:
        path: "{{ playbook_dir }}/../greeting"
        word: bonjour
      register: h1
    - hello:
        path: "{{ playbook_dir }}/../greeting"
      register: h2
    - hello: {}
      register: h3
      ignore_errors: true
    - community.general.read_csv:
        path: CSV
      register: p
    - shout:
        word: hey
      register: s
    - oldstyle:
        word: "it's"
      register: o
    - debug:
        msg: "h0={{ h0.changed }}/{{ h0.greeting }} h1={{ h1.changed }}/{{ h1.greeting }} h2={{ h2.changed }}/{{ h2.greeting }} h3={{ h3.failed }}/{{ h3.msg }} rows={{ p.list | length }}/{{ p.list[1].name }} shout={{ s.shout }} old={{ o.got }}"
`, "CSV", csv, 1))
	ansible, runbook := bothPlay(t, src, "play.yml")
	line := regexp.MustCompile(`h0=.*rows=\d+/\w+ shout=[^"\s]+ old=[^"\s]+`)
	// Python prints True where runbook's templates print true
	a, r := strings.ToLower(line.FindString(ansible)), line.FindString(runbook)
	if a == "" || a != r {
		t.Fatalf("ansible: %q\nrunbook: %q\n%s\n%s", a, r, ansible, runbook)
	}
	if !strings.Contains(a, "h0=true/hello h1=true/bonjour h2=false/bonjour h3=true/missing required arguments: path rows=2/pg2 shout=hey! old=it's") {
		t.Errorf("both say %q", a)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(src), "converted", "greeting")); err != nil {
		t.Errorf("the module did not write on the real run: %v", err)
	}
}

// Over SSH and through sudo: a role's library/ module reaches the host as a
// zip, its arguments as a file in a private folder, and nothing is left
// behind.
func TestPythonModuleOverSSH(t *testing.T) {
	srv := sshtest.Start(t, 1)
	dir := t.TempDir()
	lib := filepath.Join(dir, "roles", "r", "library")
	tasks := filepath.Join(dir, "roles", "r", "tasks")
	for _, d := range []string{lib, tasks} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, lib, "touchit.py", `from ansible.module_utils.basic import AnsibleModule
import os
m = AnsibleModule(argument_spec=dict(path=dict(type='path', required=True), secret=dict(type='str', no_log=True)))
existed = os.path.exists(m.params['path'])
open(m.params['path'], 'a').close()
m.exit_json(changed=not existed, uid=os.getuid(), tmpdir=m.tmpdir)
`)
	out := filepath.Join(dir, "touched")
	writeFile(t, tasks, "main.yml", "- touchit:\n    path: "+out+"\n    secret: s3cret-arg\n  register: r\n- debug:\n    msg: \"uid={{ .r.uid }} changed={{ .r.changed }} tmp={{ .r.tmpdir }}\"\n")
	pb := writeFile(t, dir, "play.yml", "- hosts: all\n  gather_facts: false\n  become: true\n  roles: [r]\n")
	res := runMain(t, "", "play", pb, "-i", srv.Inventory(t, ""), "--known-hosts", srv.KnownHosts)
	if res.code != 0 || !strings.Contains(res.stdout, "uid=0 changed=true") {
		t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if strings.Contains(res.stdout+res.stderr, "s3cret-arg") {
		t.Errorf("an argument the module marks no_log shows in the output")
	}
	tmp := regexp.MustCompile(`tmp=(\S+)`).FindStringSubmatch(res.stdout)
	if tmp == nil {
		t.Fatalf("no tmpdir in %s", res.stdout)
	}
	if _, err := os.Stat(tmp[1]); !os.IsNotExist(err) {
		t.Errorf("the module's private folder %s is left behind (%v)", tmp[1], err)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("the module did not run: %v", err)
	}
}

// include_role with a templated tasks_from (the linux-system-roles idiom),
// an empty handlers file, wait_for with a timeout alone, lookup('template'),
// and import_playbook with tags, against ansible-playbook.
func TestRoleIdiomsOfPublicRoles(t *testing.T) {
	src := srcDir(t)
	for _, d := range []string{"roles/r/tasks", "roles/r/handlers"} {
		if err := os.MkdirAll(filepath.Join(src, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(src, "roles/r/tasks"), "main.yml", "- debug:\n    msg: \"ran main\"\n")
	writeFile(t, filepath.Join(src, "roles/r/tasks"), "other.yml", "- debug:\n    msg: \"ran other\"\n")
	writeFile(t, filepath.Join(src, "roles/r/handlers"), "main.yml", "---\n# no handlers yet\n")
	if err := os.MkdirAll(filepath.Join(src, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(src, "templates"), "greet.j2", "looked up {{ who }}")
	writeFile(t, src, "inner.yml", "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"inner tagged\"\n")
	writeFile(t, src, "play.yml", `- hosts: all
  gather_facts: false
  tasks:
    - include_role:
        name: r
        tasks_from: "{{ which | default('main') }}"
    - include_role:
        name: r
        tasks_from: "{{ 'other' }}"
    - include_role:
        name: r
        tasks_from: other.yml
    - wait_for:
        timeout: 1
    - debug:
        msg: "{{ lookup('template', 'greet.j2') }}"
      vars:
        who: ada
- import_playbook: inner.yml
  tags: [inner]
`)
	ansible, runbook := bothPlay(t, src, "play.yml")
	re := regexp.MustCompile(`"?(ran main|ran other|inner tagged|looked up ada)"?`)
	var a, r []string
	for _, m := range re.FindAllStringSubmatch(ansible, -1) {
		a = append(a, m[1])
	}
	for _, m := range re.FindAllStringSubmatch(runbook, -1) {
		r = append(r, m[1])
	}
	if strings.Join(a, ",") != "ran main,ran other,ran other,looked up ada,inner tagged" || strings.Join(a, ",") != strings.Join(r, ",") {
		t.Errorf("ansible %v, runbook %v\n%s\n%s", a, r, ansible, runbook)
	}
}

// regex_search with groups ('\\1', '\\g<name>') gives the first match's
// groups as a list (none without a match), and a pattern's \d keeps its
// backslash, as in Ansible.
func TestRegexSearchGroupsAsAnsible(t *testing.T) {
	src := srcDir(t)
	writeFile(t, src, "play.yml", `- hosts: all
  gather_facts: false
  vars:
    v: "Redis server v=7.0.15 sha=0"
  tasks:
    - debug:
        msg: "got {{ v | regex_search('^Redis server v=(\\d+\\.\\d+\\.\\d+)', '\\1') | first }} {{ (v | regex_search('sha=(?P<s>\\d)', '\\g<s>'))[0] }} {{ v | regex_search('nomatch', '\\1') is none }} end"
`)
	ansible, runbook := bothPlay(t, src, "play.yml")
	re := regexp.MustCompile(`got [^"]* end`)
	if a, r := re.FindString(ansible), re.FindString(runbook); a != "got 7.0.15 0 True end" || a != r {
		t.Errorf("ansible %q, runbook %q", a, r)
	}
}

// Python's string methods roles use (strip/lstrip/rstrip with characters,
// splitlines), regex_escape and path_join, against ansible-playbook.
func TestStringMethodsAsAnsible(t *testing.T) {
	src := srcDir(t)
	writeFile(t, src, "play.yml", `- hosts: all
  gather_facts: false
  vars:
    p: "/etc/postfix/main.cf"
    t: "a\nb\n\nc\n"
  tasks:
    - debug:
        msg: "r[{{ p.lstrip('/') }}|{{ '  x  '.strip() }}|{{ 'xxhixx'.rstrip('x') }}|{{ t.splitlines() | length }}|{{ 'a.b*c' | regex_escape }}|{{ (p, 'x') | path_join }}|{{ ['/a', '/b'] | path_join }}]"
`)
	ansible, runbook := bothPlay(t, src, "play.yml")
	a := regexp.MustCompile(`r\[[^\]]*\]`).FindString(strings.ReplaceAll(ansible, `\\`, `\`))
	if r := regexp.MustCompile(`r\[[^\]]*\]`).FindString(runbook); a != `r[etc/postfix/main.cf|x|xxhi|4|a\.b\*c|/etc/postfix/main.cf/x|/b]` || a != r {
		t.Errorf("ansible %q, runbook %q", a, r)
	}
}

// A condition with a template inside ('{{ x }}' in d, d['{{ k }}']), which
// Ansible renders first (with a warning), converts to the expression.
func TestConditionWithTemplatesInsideAsAnsible(t *testing.T) {
	src := srcDir(t)
	writeFile(t, src, "play.yml", `- hosts: all
  gather_facts: false
  vars:
    ed: gitlab-ce
    pk: {gitlab-ce: [{version: "16.1"}]}
    want: "16.1"
  tasks:
    - assert:
        that:
          - "'{{ ed }}' in pk"
          - "pk['{{ ed }}'][0].version == want"
          - "pk[ed][0].version == '{{ want }}'"
    - debug: {msg: "cond-ok"}
      when: "'{{ ed }}' in pk"
`)
	ansible, runbook := bothPlay(t, src, "play.yml")
	for _, out := range []string{ansible, runbook} {
		if !strings.Contains(out, "cond-ok") {
			t.Errorf("ansible and runbook differ:\n%s\n%s", ansible, runbook)
		}
	}
}

// Python slices with a step (x[::-1], x[1::2]) and the reversed-join idiom
// of DNS roles, against ansible-playbook.
func TestSlicesWithStepAsAnsible(t *testing.T) {
	src := srcDir(t)
	writeFile(t, src, "play.yml", `- hosts: all
  gather_facts: false
  vars:
    z: "10.20.30.in-addr.arpa"
    l: [1, 2, 3, 4, 5]
    pair: ["example.com", "10.20.30.in-addr.arpa"]
  tasks:
    - debug:
        msg: "s[{{ l[::-1] | join(',') }}|{{ l[1::2] | join(',') }}|{{ l[3:0:-1] | join(',') }}|{{ '.'.join(z.split('.')[::-1]) }}|{{ z[::-3] }}|{{ l[-2:] | join(',') }}|{{ ('.'.join(pair.1.replace(pair.1+'.','').split('.')[::-1])) }}]"
`)
	ansible, runbook := bothPlay(t, src, "play.yml")
	re := regexp.MustCompile(`s\[[^\]]*\]`)
	if a, r := re.FindString(ansible), re.FindString(runbook); a != "s[5,4,3,2,1|2,4|4,3,2|arpa.in-addr.30.20.10|aad-...|4,5|arpa.in-addr.30.20.10]" || a != r {
		t.Errorf("ansible %q, runbook %q", a, r)
	}
}

// A templated check_mode (check_mode: "{{ dry }}", the linux-system-roles
// idiom) is decided per host: the command is skipped, nothing changes.
func TestTemplatedCheckModeAsAnsible(t *testing.T) {
	src := srcDir(t)
	probe := filepath.Join(t.TempDir(), "probe")
	writeFile(t, src, "play.yml", `- hosts: all
  gather_facts: false
  vars:
    dry: true
  tasks:
    - command: touch `+probe+`
      check_mode: "{{ dry }}"
      register: r
    - debug:
        msg: "cm[{{ r.changed }}|{{ r.skipped | default(false) }}]"
`)
	ansible, runbook := bothPlay(t, src, "play.yml")
	re := regexp.MustCompile(`cm\[[^\]]*\]`)
	if a, r := strings.ToLower(re.FindString(ansible)), re.FindString(runbook); a != "cm[false|true]" || a != r {
		t.Errorf("ansible %q, runbook %q", a, r)
	}
	if _, err := os.Stat(probe); err == nil {
		t.Error("the command ran under a templated check_mode that is true")
	}
}

package playbooks_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/internal/diag"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/playbooks"
	"github.com/runbook-lab/runbook/runner"
)

func loader() *playbooks.Loader {
	return &playbooks.Loader{Embedded: playbooks.Embedded, Catalog: runner.Catalog{Reg: modules.Default}}
}

// Each broken playbook must fail with its message at its line and column.
func TestBadPlaybooks(t *testing.T) {
	cases := []struct {
		file      string
		line, col int
		want      string
	}{
		{"unknown_module.yaml", 4, 7, `unknown module "cpoy" (did you mean "copy"?)`},
		{"unknown_task_key.yaml", 5, 7, `unknown key or module "regster" (did you mean "register"?)`},
		{"unknown_arg.yaml", 6, 9, `copy: unknown argument "contnet" (did you mean "content"?)`},
		{"unknown_play_key.yaml", 2, 3, `play: unknown key "gather_fact" (did you mean "gather_facts"?)`},
		{"bad_template.yaml", 5, 14, `bad template`},
		{"bad_expr.yaml", 6, 13, `when: bad expression`},
		{"two_modules.yaml", 5, 7, `task has two modules, "command" and "shell"`},
		{"wrong_type.yaml", 5, 15, `wait_for: argument "port"`},
		{"missing_hosts.yaml", 1, 3, `missing key "hosts"`},
		{"bad_yaml.yaml", 4, 6, `invalid YAML`},
		{"bad_notify.yaml", 3, 7, `notify: no handler named "restart postgresql" in this play (did you mean "restart postgres"?)`},
		{"bad_mode.yaml", 7, 15, `mode: expected an octal number`},
		{"template_in_when.yaml", 5, 13, `conditions are expressions, not templates: write x`},
		{"validate.yaml", 5, 9, `state must be file, directory, absent, link, hard or touch, got "dir"`},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", c.file)
			_, err := loader().Load(path)
			if err == nil {
				t.Fatal("loaded without error")
			}
			de, ok := err.(*diag.Error)
			if !ok {
				t.Fatalf("error is %T, not a positioned error: %v", err, err)
			}
			if de.File != path || de.Line != c.line || de.Column != c.col {
				t.Errorf("position %s:%d:%d, want %s:%d:%d\n%v", de.File, de.Line, de.Column, path, c.line, c.col, err)
			}
			if !strings.Contains(de.Msg, c.want) {
				t.Errorf("message %q does not contain %q", de.Msg, c.want)
			}
			if !strings.Contains(err.Error(), "^") {
				t.Errorf("no caret snippet in %q", err)
			}
		})
	}
}

// Every embedded playbook loads through the real loader.
func TestEmbeddedPlaybooksLoad(t *testing.T) {
	list := playbooks.ListEmbedded()
	if len(list) == 0 {
		t.Fatal("no embedded playbooks")
	}
	for _, p := range list {
		t.Run(p.Name, func(t *testing.T) {
			if p.Description == "" {
				t.Error("no description comment on the first line")
			}
			pb, err := loader().Load(p.Name)
			if err != nil {
				t.Fatal(err)
			}
			if len(pb.Plays) == 0 {
				t.Error("no plays")
			}
		})
	}
}

func TestLanguage(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("inc.yaml", "- name: included\n  command: /bin/true\n")
	write("vars.yaml", "a: 1\nb: two\n")
	write("other.yaml", "- hosts: all\n  tasks:\n    - debug: msg=imported\n")
	p := write("main.yaml", `
- import_playbook: other.yaml
- name: main
  hosts: all
  vars_files: [vars.yaml]
  vars: {c: 3}
  tasks:
    - include_tasks: inc.yaml
    - name: kv args
      copy: dest=/tmp/x content='two words' mode=0600
    - name: block
      block:
        - command: /bin/false
      rescue:
        - debug: msg=rescued
      always:
        - debug: msg=always
      when: c == 3
    - name: loop
      debug:
        msg: "{{ .item }}"
      loop: [1, 2]
      notify: h
  handlers:
    - name: h
      command: /bin/true
`)
	pb, err := loader().Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(pb.Plays) != 2 {
		t.Fatalf("%d plays, want 2 (import_playbook)", len(pb.Plays))
	}
	main := pb.Plays[1]
	if main.Vars["a"] != 1 || main.Vars["b"] != "two" || main.Vars["c"] != 3 {
		t.Errorf("vars %v", main.Vars)
	}
	if inc := main.Tasks[0]; !inc.IsBlock() || len(inc.Block) != 1 || inc.Block[0].Name != "included" {
		t.Errorf("include_tasks: %+v", inc)
	}
	kv := main.Tasks[1]
	if kv.Module != "copy" || len(kv.Args.Content) != 6 || kv.Args.Content[3].Value != "two words" {
		t.Errorf("k=v args not parsed: %+v", kv.Args.Content)
	}
	blk := main.Tasks[2]
	if !blk.IsBlock() || len(blk.Rescue) != 1 || len(blk.Always) != 1 || blk.When[0] != "c == 3" {
		t.Errorf("block not parsed: %+v", blk)
	}
	if main.Tasks[3].Loop == nil || main.Tasks[3].Notify[0] != "h" {
		t.Error("loop/notify not parsed")
	}
}

// --syntax-check reports every mistake of a file, each at its place, not
// only the first.
func TestEveryMistakeReported(t *testing.T) {
	l := loader()
	text := `- hosts: all
  tasks:
    - name: one
      comand: echo a
    - name: fine
      command: echo b
    - name: two
      command: echo c
      whne: x
- hosts: all
  tasks:
    - name: three
      file: {path: /x, state: dir}
- hosts: all
  bogus: 1
  tasks: []
`
	_, err := l.LoadText("many.yaml", []byte(text))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"4 errors", "many.yaml:4:7", "many.yaml:9:7", "many.yaml:13:", "many.yaml:15:3"} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
}

// A handlers section's import_tasks gives its tasks as handlers, each
// notified by its own name and carrying the import's when; an
// include_tasks there stays one handler, notified by its name (Ansible's
// static and dynamic includes; geerlingguy's ansible-for-devops does both).
func TestImportedHandlers(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "handlers.yml"), []byte("- name: restart apache\n  command: /bin/true\n- name: reload apache\n  command: /bin/true\n  when: reload_ok\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "restart.yml"), []byte("- command: /bin/true\n"), 0o644)
	p := filepath.Join(dir, "main.yml")
	os.WriteFile(p, []byte(`- hosts: all
  handlers:
    - import_tasks: handlers.yml
      when: web
    - name: restart jenkins
      include_tasks: restart.yml
  tasks:
    - command: /bin/true
      notify: [restart apache, reload apache, restart jenkins]
`), 0o644)
	pb, err := loader().Load(p)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range pb.Plays[0].Handlers {
		got = append(got, h.Name+" when "+strings.Join(h.When, " and "))
	}
	want := []string{"restart apache when web", "reload apache when web and reload_ok", "restart jenkins when "}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("handlers %q, want %q", got, want)
	}
}

// include_tasks: "{{ item }}" over a written list loads those files (in a
// subfolder too), not every file beside the playbook: an INSTALL.rst and
// the playbook itself there are no task files (dev-sec's molecule verify).
func TestIncludeOverWrittenItems(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "checks"), 0o755)
	os.WriteFile(filepath.Join(dir, "checks", "a.yml"), []byte("- command: /bin/true\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "checks", "b.yml"), []byte("- command: /bin/false\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "INSTALL.rst"), []byte("*******\nInstall\n*******\n"), 0o644)
	p := filepath.Join(dir, "verify.yml")
	os.WriteFile(p, []byte(`- hosts: all
  tasks:
    - include_tasks:
        file: "{{ item }}"
      loop: [checks/a.yml, checks/b.yml]
`), 0o644)
	pb, err := loader().Load(p)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range pb.Plays[0].Tasks[0].Block {
		names = append(names, b.Name)
	}
	if got := strings.Join(names, "|"); !strings.Contains(got, "checks/a.yml") || !strings.Contains(got, "checks/b.yml") || strings.Contains(got, "INSTALL") {
		t.Errorf("the include's blocks: %s", got)
	}
}

// A task file in a subfolder of a role's tasks/ imports a file that lives
// in tasks/ itself, as ansible-lockdown's CIS role does; Ansible finds it in
// the role's tasks/ (checked with ansible-playbook).
func TestNestedRoleImportFindsTasksFolder(t *testing.T) {
	dir := t.TempDir()
	tasks := filepath.Join(dir, "roles", "r", "tasks")
	os.MkdirAll(filepath.Join(tasks, "section_1"), 0o755)
	os.WriteFile(filepath.Join(tasks, "main.yml"), []byte("- import_tasks: section_1/a.yml\n"), 0o644)
	os.WriteFile(filepath.Join(tasks, "section_1", "a.yml"), []byte("- import_tasks:\n    file: warning.yml\n"), 0o644)
	os.WriteFile(filepath.Join(tasks, "warning.yml"), []byte("- name: warned\n  debug: {msg: warned}\n"), 0o644)
	p := filepath.Join(dir, "site.yml")
	os.WriteFile(p, []byte("- hosts: localhost\n  roles: [r]\n"), 0o644)
	if _, err := loader().Load(p); err != nil {
		t.Fatal(err)
	}
}

package runner_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/runbook-lab/runbook/hostexec"
	"github.com/runbook-lab/runbook/internal/diag"
	"github.com/runbook-lab/runbook/inventory"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/playbooks"
	"github.com/runbook-lab/runbook/runner"
	"github.com/runbook-lab/runbook/transport"
)

// fleet is a set of recording hosts: every command any host is sent is
// kept in order as "host: marker", where marker is the first word after
// "echo " in the script (the tasks below run `command: echo NAME`). A
// script naming "fail" exits 1; "flaky" exits 1 until its third try.
type fleet struct {
	mu    sync.Mutex
	log   []string
	tries map[string]int
}

var echoed = regexp.MustCompile(`echo'? '?([A-Za-z0-9_-]+)`)

type fakeConn struct {
	name string
	f    *fleet
}

func (c *fakeConn) Name() string { return c.name }
func (c *fakeConn) Close() error { return nil }
func (c *fakeConn) Run(_ context.Context, cmd hostexec.Cmd) (hostexec.CmdResult, error) {
	m := echoed.FindStringSubmatch(cmd.Script)
	if m == nil {
		return hostexec.CmdResult{}, nil // facts and other probes: nothing to record
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	c.f.log = append(c.f.log, c.name+": "+m[1])
	switch {
	case strings.Contains(m[1], "fail"):
		return hostexec.CmdResult{RC: 1, Stderr: "failed on purpose"}, nil
	case strings.Contains(m[1], "flaky"):
		c.f.tries[c.name]++
		if c.f.tries[c.name] < 3 {
			return hostexec.CmdResult{RC: 1}, nil
		}
	}
	return hostexec.CmdResult{Stdout: m[1] + "\n"}, nil
}

type quiet struct{}

func (quiet) Play(string, []string)     {}
func (quiet) Task(string, bool)         {}
func (quiet) Result(*runner.HostResult) {}
func (quiet) Warn(string, string)       {}
func (quiet) Recap(*runner.Stats)       {}

const threeHosts = "all:\n  hosts:\n    h1:\n    h2:\n    h3:\n"

func play(t *testing.T, text string, edit func(*runner.Options)) (*fleet, *runner.Stats) {
	t.Helper()
	inv, err := inventory.Parse(&diag.Source{Name: "inv.yaml", Text: []byte(threeHosts)}, ".")
	if err != nil {
		t.Fatal(err)
	}
	l := &playbooks.Loader{Catalog: runner.Catalog{Reg: modules.Default}}
	pb, err := l.LoadText("t.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	f := &fleet{tries: map[string]int{}}
	opt := runner.Options{Registry: modules.Default, Inventory: inv, Output: quiet{}, Forks: 1,
		Connector: &runner.Connector{Dial: func(_ context.Context, name string, _ map[string]any) (transport.Conn, error) {
			return &fakeConn{name: name, f: f}, nil
		}}}
	if edit != nil {
		edit(&opt)
	}
	st, err := runner.Run(context.Background(), pb, opt)
	if err != nil {
		t.Fatal(err)
	}
	return f, st
}

func recap(st *runner.Stats) string {
	var b strings.Builder
	for _, h := range st.Order {
		c := st.Hosts[h]
		fmt.Fprintf(&b, "%s ok=%d changed=%d failed=%d skipped=%d rescued=%d; ", h, c.OK, c.Changed, c.Failed, c.Skipped, c.Rescued)
	}
	return strings.TrimSpace(b.String())
}

// The runner's control flow on recording hosts: what each host is sent,
// in which order, and the recap.
func TestRunnerControlFlow(t *testing.T) {
	cases := []struct {
		name, play string
		edit       func(*runner.Options)
		log        string // commands in order, "|"-separated
		recap      string
	}{
		{name: "linear: each task on every host, then the next",
			play: "- hosts: h1,h2\n  gather_facts: false\n  tasks:\n    - command: echo a\n    - command: echo b\n",
			log:  "h1: a|h2: a|h1: b|h2: b"},
		{name: "serial 1: one host through the play, then the next",
			play: "- hosts: h1,h2\n  serial: 1\n  gather_facts: false\n  tasks:\n    - command: echo a\n    - command: echo b\n",
			log:  "h1: a|h1: b|h2: a|h2: b"},
		{name: "loop: one command per item, in order",
			play: "- hosts: h1\n  gather_facts: false\n  tasks:\n    - command: echo {{ .item }}\n      loop: [x, y, z]\n",
			log:  "h1: x|h1: y|h1: z"},
		{name: "with_items flattens one level",
			play: "- hosts: h1\n  gather_facts: false\n  tasks:\n    - command: echo {{ .item }}\n      with_items: [[a, b], c]\n",
			log:  "h1: a|h1: b|h1: c"},
		{name: "with_dict: key and value, in the mapping's order",
			play: "- hosts: h1\n  gather_facts: false\n  tasks:\n    - command: echo {{ .item.key }}-{{ .item.value }}\n      with_dict: {z: 1, a: 2}\n",
			log:  "h1: z-1|h1: a-2"},
		{name: "with_nested, with_together, with_sequence, with_subelements",
			play: "- hosts: h1\n  gather_facts: false\n  tasks:\n    - command: echo n{{ index .item 0 }}{{ index .item 1 }}\n      with_nested: [[a, b], [x, y]]\n" +
				"    - command: echo t{{ index .item 0 }}{{ index .item 1 }}\n      with_together: [[a, b], [1, 2]]\n" +
				"    - command: echo s{{ .item }}\n      with_sequence: start=1 end=5 stride=2 format=%02d\n" +
				"    - command: echo u{{ (index .item 0).name }}-{{ index .item 1 }}\n      with_subelements: [[{name: a, keys: [k1, k2]}], keys]\n",
			log: "h1: nax|h1: nay|h1: nbx|h1: nby|h1: ta1|h1: tb2|h1: s01|h1: s03|h1: s05|h1: ua-k1|h1: ua-k2"},
		{name: "with_nested whose product is too large: one clear failure, nothing sent (four lists of 1,000 once ran until killed)",
			play: "- hosts: h1\n  gather_facts: false\n  vars: {k: \"{{ until 1000 }}\"}\n  tasks:\n    - command: echo {{ .item }}\n      with_nested: ['{{ .k }}', '{{ .k }}', '{{ .k }}', '{{ .k }}']\n    - command: echo after\n",
			log:  "", recap: "h1 ok=0 changed=0 failed=1 skipped=0 rescued=0;"},
		{name: "a variable computed from itself has no value (it once kept its own template text): the task that uses it fails; chains that end resolve",
			play: "- hosts: h1\n  gather_facts: false\n  vars: {x: \"{{ .x }}/bin\", a: \"{{ .b }}\", b: \"{{ .a }}\", c: \"{{ .d }}\", d: \"{{ .e }}\", e: z}\n  tasks:\n    - command: echo {{ .c }}\n    - command: echo {{ .x }}\n      ignore_errors: true\n    - command: echo {{ .a }}\n",
			log:  "h1: z", recap: "h1 ok=2 changed=1 failed=1 skipped=0 rescued=0;"},
		{name: "a chain of 20 variables, each from the one before, is right in one go (map-order passes once kept raw template text in it)",
			play: "- hosts: h1\n  gather_facts: false\n  vars: {v1: \"{{ .v0 }}x\", v2: \"{{ .v1 }}x\", v3: \"{{ .v2 }}x\", v4: \"{{ .v3 }}x\", v5: \"{{ .v4 }}x\", v6: \"{{ .v5 }}x\", v7: \"{{ .v6 }}x\", v8: \"{{ .v7 }}x\", v9: \"{{ .v8 }}x\", v10: \"{{ .v9 }}x\", v11: \"{{ .v10 }}x\", v12: \"{{ .v11 }}x\", v13: \"{{ .v12 }}x\", v14: \"{{ .v13 }}x\", v15: \"{{ .v14 }}x\", v16: \"{{ .v15 }}x\", v17: \"{{ .v16 }}x\", v18: \"{{ .v17 }}x\", v19: \"{{ .v18 }}x\", v20: \"{{ .v19 }}x\", v0: a}\n  tasks:\n    - command: echo {{ .v20 }}\n",
			log:  "h1: axxxxxxxxxxxxxxxxxxxx"},
		{name: "with_flattened and community.general's flattened: lists to any depth (as Ansible gives 1..5)",
			play: "- hosts: h1\n  gather_facts: false\n  tasks:\n    - command: echo f{{ .item }}\n      with_flattened: [1, [2, [3, [4]]]]\n" +
				"    - command: echo g{{ .item }}\n      with_community.general.flattened: [[5]]\n",
			log: "h1: f1|h1: f2|h1: f3|h1: f4|h1: g5"},
		{name: "loop_control index_var and ansible_loop",
			play: "- hosts: h1\n  gather_facts: false\n  tasks:\n    - command: echo i{{ .idx }}-{{ .ansible_loop.index }}-{{ .ansible_loop.last }}\n      loop: [a, b]\n      loop_control: {index_var: idx}\n",
			log:  "h1: i0-1-false|h1: i1-2-true"},
		{name: "a failed item does not stop the loop; the task fails",
			play: "- hosts: h1\n  gather_facts: false\n  tasks:\n    - command: echo {{ .item }}\n      loop: [fail1, b]\n    - command: echo after\n",
			log:  "h1: fail1|h1: b", recap: "h1 ok=0 changed=0 failed=1 skipped=0 rescued=0;"},
		{name: "until: retried until it passes",
			play: "- hosts: h1\n  gather_facts: false\n  tasks:\n    - command: echo flaky\n      register: r\n      until: r.rc == 0\n      retries: 5\n      delay: 0\n    - command: echo after\n",
			log:  "h1: flaky|h1: flaky|h1: flaky|h1: after", recap: "h1 ok=2 changed=2 failed=0 skipped=0 rescued=0;"},
		{name: "templated retries and delay are read for the host",
			play: "- hosts: h1\n  gather_facts: false\n  vars: {tries: 2}\n  tasks:\n    - command: echo fail5\n      register: r\n      until: r.rc == 0\n      retries: '{{ .tries }}'\n      delay: '{{ 0 }}'\n",
			log:  "h1: fail5|h1: fail5|h1: fail5", recap: "h1 ok=0 changed=0 failed=1 skipped=0 rescued=0;"},
		{name: "delegate_facts: set_fact lands on the host delegated to",
			play: "- hosts: h1\n  gather_facts: false\n  tasks:\n    - set_fact: {joined: 'from-{{ .inventory_hostname }}'}\n      delegate_to: '{{ .item }}'\n      delegate_facts: true\n      loop: [h2]\n- hosts: h1,h2\n  gather_facts: false\n  tasks:\n    - command: echo {{ .inventory_hostname }}-{{ fallback \"none\" (value $ \"joined\") }}\n",
			log:  "h1: h1-none|h2: h2-from-h1"},
		{name: "add_host: every other argument is a host variable; groups may be a string with commas",
			play: "- hosts: h1\n  gather_facts: false\n  tasks:\n    - add_host: {hostname: h2, groups: 'web,new', app_port: 8080, vars: {tier: front}}\n- hosts: new\n  gather_facts: false\n  tasks:\n    - command: echo {{ .app_port }}-{{ .tier }}-{{ join \"_\" .group_names }}-{{ join \"_\" (index .groups \"new\") }}\n",
			log:  "h2: 8080-front-new_web-h2"},
		{name: "a handler block: its tasks are the handlers, each with the block's rescue",
			play: "- hosts: h1\n  gather_facts: false\n  tasks:\n    - command: echo a\n      notify: restart\n  handlers:\n    - name: restart block\n      block:\n        - name: restart\n          command: echo fail7\n      rescue:\n        - command: echo journal\n",
			log:  "h1: a|h1: fail7|h1: journal", recap: "h1 ok=2 changed=2 failed=0 skipped=0 rescued=1;"},
		{name: "until: retries 0 is one attempt, unset is four (Ansible's count)",
			play: "- hosts: h1\n  gather_facts: false\n  tasks:\n    - command: echo fail6\n      register: r\n      until: r.rc == 0\n      retries: 0\n      ignore_errors: true\n    - command: echo fail8\n      register: r\n      until: r.rc == 0\n      delay: 0\n",
			log:  "h1: fail6|h1: fail8|h1: fail8|h1: fail8|h1: fail8"},
		{name: "a failed host stops; the others go on",
			play: "- hosts: h1,h2\n  gather_facts: false\n  tasks:\n    - command: echo {{ if eq .inventory_hostname \"h1\" }}fail{{ else }}a{{ end }}\n    - command: echo b\n",
			log:  "h1: fail|h2: a|h2: b", recap: "h1 ok=0 changed=0 failed=1 skipped=0 rescued=0; h2 ok=2 changed=2 failed=0 skipped=0 rescued=0;"},
		{name: "block: rescue and always run, the host is rescued",
			play: "- hosts: h1\n  gather_facts: false\n  tasks:\n    - block:\n        - command: echo fail1\n        - command: echo skipped\n      rescue:\n        - command: echo rescue\n      always:\n        - command: echo always\n    - command: echo next\n",
			log:  "h1: fail1|h1: rescue|h1: always|h1: next", recap: "h1 ok=3 changed=3 failed=0 skipped=0 rescued=1;"},
		{name: "templated ignore_errors is decided per host",
			play: "- hosts: h1,h2\n  gather_facts: false\n  tasks:\n    - command: echo fail4\n      ignore_errors: '{{ eq .inventory_hostname \"h1\" }}'\n    - command: echo after\n",
			log:  "h1: fail4|h2: fail4|h1: after"},
		{name: "group_by: later plays reach the hosts by their new group",
			play: "- hosts: h1,h2\n  gather_facts: false\n  tasks:\n    - group_by: {key: 'kind_{{ if eq .inventory_hostname \"h2\" }}odd{{ else }}even{{ end }}'}\n- hosts: kind_odd\n  gather_facts: false\n  tasks:\n    - command: echo odd\n",
			log:  "h2: odd"},
		{name: "rescue sees ansible_failed_task and ansible_failed_result",
			play: "- hosts: h1\n  gather_facts: false\n  tasks:\n    - block:\n        - name: breaks\n          command: echo fail2\n      rescue:\n        - command: echo rescued-{{ .ansible_failed_task.name }}-{{ .ansible_failed_result.rc }}\n",
			log:  "h1: fail2|h1: rescued-breaks-1"},
		{name: "handlers run once at the end, for the hosts that notified",
			play: "- hosts: h1,h2\n  gather_facts: false\n  tasks:\n    - command: echo a\n      changed_when: inventory_hostname == \"h2\"\n      notify: h\n    - command: echo b\n      notify: h\n      changed_when: false\n  handlers:\n    - name: h\n      command: echo handler\n",
			log:  "h1: a|h2: a|h1: b|h2: b|h2: handler"},
		{name: "handlers notified before a failure still run (runbook's default)",
			play: "- hosts: h1\n  gather_facts: false\n  tasks:\n    - command: echo a\n      notify: h\n    - command: echo fail\n  handlers:\n    - name: h\n      command: echo handler\n",
			log:  "h1: a|h1: fail|h1: handler"},
		{name: "--no-handlers-on-failure: as Ansible without force_handlers",
			play: "- hosts: h1\n  gather_facts: false\n  tasks:\n    - command: echo a\n      notify: h\n    - command: echo fail\n  handlers:\n    - name: h\n      command: echo handler\n",
			edit: func(o *runner.Options) { o.NoHandlersOnFailure = true },
			log:  "h1: a|h1: fail"},
		{name: "meta flush_handlers runs notified handlers at once, and not again at the end",
			play: "- hosts: h1\n  gather_facts: false\n  tasks:\n    - command: echo a\n      notify: h\n    - meta: flush_handlers\n    - command: echo b\n  handlers:\n    - name: h\n      command: echo handler\n",
			log:  "h1: a|h1: handler|h1: b"},
		{name: "meta end_host ends the play for that host only",
			play: "- hosts: h1,h2\n  gather_facts: false\n  tasks:\n    - meta: end_host\n      when: inventory_hostname == \"h1\"\n    - command: echo b\n- hosts: h1\n  gather_facts: false\n  tasks:\n    - command: echo next-play\n",
			log:  "h2: b|h1: next-play"},
		{name: "meta end_play ends the play for every host",
			play: "- hosts: h1,h2\n  gather_facts: false\n  tasks:\n    - command: echo a\n    - meta: end_play\n    - command: echo b\n",
			log:  "h1: a|h2: a"},
		{name: "delegate_to: the command runs on the delegate, once per host",
			play: "- hosts: h1,h2\n  gather_facts: false\n  tasks:\n    - command: echo for-{{ .inventory_hostname }}\n      delegate_to: h3\n",
			log:  "h3: for-h1|h3: for-h2"},
		{name: "run_once: the first host only",
			play: "- hosts: h1,h2,h3\n  gather_facts: false\n  tasks:\n    - command: echo once\n      run_once: true\n",
			log:  "h1: once"},
		{name: "--limit narrows every play",
			play: "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: echo a\n",
			edit: func(o *runner.Options) { o.Limit = "h2:h3" },
			log:  "h2: a|h3: a"},
		{name: "--tags and --start-at-task",
			play: "- hosts: h1\n  gather_facts: false\n  tasks:\n    - name: one\n      command: echo one\n      tags: [x]\n    - name: two\n      command: echo two\n    - name: three\n      command: echo three\n      tags: [x]\n",
			edit: func(o *runner.Options) { o.Tags = []string{"x"}; o.StartAt = "two" },
			log:  "h1: three"},
		{name: "--check: command sends nothing",
			play: "- hosts: h1\n  gather_facts: false\n  tasks:\n    - command: echo a\n    - command: echo b\n      check_mode: false\n",
			edit: func(o *runner.Options) { o.Check = true },
			log:  "h1: b"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, st := play(t, c.play, c.edit)
			if got := strings.Join(f.log, "|"); got != c.log {
				t.Errorf("commands:\n got %s\nwant %s", got, c.log)
			}
			if c.recap != "" && recap(st) != c.recap {
				t.Errorf("recap:\n got %s\nwant %s", recap(st), c.recap)
			}
		})
	}
}

// Roles from a folder tree: dependencies first, defaults beneath play vars,
// parameters above the role's defaults, the role's vars, its handlers,
// import_role with tasks_from, import_tasks.
func TestRoles(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"roles/base/defaults/main.yml": "port: 1\nwho: default\n",
		"roles/base/vars/main.yml":     "fixed: v\n",
		"roles/base/tasks/main.yml":    "- command: echo base-{{ .port }}-{{ .who }}-{{ .fixed }}\n  notify: restart base\n- import_tasks: more.yml\n",
		"roles/base/tasks/more.yml":    "- command: echo more\n",
		"roles/base/handlers/main.yml": "- name: restart base\n  command: echo restarted\n",
		"roles/base/meta/main.yml":     "galaxy_info: {author: x}\ndependencies:\n  - dep\n",
		"roles/dep/tasks/main.yml":     "- command: echo dep\n",
		"roles/dep/tasks/other.yml":    "- command: echo other-{{ .who }}\n",
		"site.yml": "- hosts: h1\n  gather_facts: false\n  vars: {who: play}\n  roles:\n    - {role: base, port: 2}\n  tasks:\n" +
			"    - import_role: {name: dep, tasks_from: other}\n    - command: echo last\n      notify: \"base : restart base\"\n",
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(text), 0o644)
	}
	inv, err := inventory.Parse(&diag.Source{Name: "inv.yaml", Text: []byte(threeHosts)}, ".")
	if err != nil {
		t.Fatal(err)
	}
	l := &playbooks.Loader{Catalog: runner.Catalog{Reg: modules.Default}}
	pb, err := l.Load(filepath.Join(dir, "site.yml"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fleet{tries: map[string]int{}}
	_, err = runner.Run(context.Background(), pb, runner.Options{Registry: modules.Default, Inventory: inv, Output: quiet{}, Forks: 1,
		Connector: &runner.Connector{Dial: func(_ context.Context, name string, _ map[string]any) (transport.Conn, error) {
			return &fakeConn{name: name, f: f}, nil
		}}})
	if err != nil {
		t.Fatal(err)
	}
	want := "h1: dep|h1: base-2-play-v|h1: more|h1: other-play|h1: last|h1: restarted"
	if got := strings.Join(f.log, "|"); got != want {
		t.Errorf("commands:\n got %s\nwant %s", got, want)
	}
}

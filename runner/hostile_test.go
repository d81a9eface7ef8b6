package runner_test

import (
	"context"
	"fmt"
	"os"
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

// hostileConn answers every `cat hostile` with the payload and records
// every script it is sent: what the controller sends back is the proof.
type hostileConn struct {
	name    string
	payload string
	mu      *sync.Mutex
	scripts *[]string
}

func (c *hostileConn) Name() string { return c.name }
func (c *hostileConn) Close() error { return nil }
func (c *hostileConn) Run(_ context.Context, cmd hostexec.Cmd) (hostexec.CmdResult, error) {
	c.mu.Lock()
	*c.scripts = append(*c.scripts, cmd.Script)
	c.mu.Unlock()
	if strings.Contains(cmd.Script, "hostile") {
		return hostexec.CmdResult{Stdout: c.payload}, nil
	}
	return hostexec.CmdResult{}, nil
}

// hostilePayloads are outputs a host (or a user on it, through a file
// name a find task reports) can print: template code of every form the
// controller's engine knows, and the reach it would have had.
var hostilePayloads = []string{
	`{{ lookupFile "/etc/hostname" }}`,
	`{{ index .hostvars "h2" "ansible_become_password" }}`,
	`{{ env "HOME" }}`,
	`{{ expandenv "$HOME" }}`,
	`{{ getHostByName "localhost" }}`,
	`{{ .h2_secret }}`,
	`{{ range $i, $e := until 1000000 }}x{{ end }}`,
	`{{ template "x" }}`,
	"{{",
	"}}{{-",
	"{% for x in range(10) %}{{ x }}{% endfor %}",
	"{{ lookup('file', '/etc/hostname') }}",
	"a\x00b {{ .inventory_hostname }}",
}

// A host's output is data: registered, copied by set_fact, passed through
// a play variable, a loop item or add_host, and sent back to the host, it
// arrives byte for byte, never evaluated on the controller.
func TestHostOutputIsNeverTemplated(t *testing.T) {
	const inv = "all:\n  hosts:\n    h1:\n    h2:\n      ansible_become_password: topsecret-h2\n  vars:\n    h2_secret: topsecret-all\n"
	const pb = `- hosts: h1
  gather_facts: false
  vars:
    via_play_var: "{{ .out.stdout }}"
  tasks:
    - command: cat hostile
      register: out
    - set_fact:
        copied: "{{ .out.stdout }}"
        wrapped: "[{{ .out.stdout }}]"
    - add_host:
        name: h3
        from_host: "{{ .out.stdout }}"
    - shell: printf %s {{ .out.stdout | shq }} >reg
    - shell: printf %s {{ .copied | shq }} >fact
    - shell: printf %s {{ .via_play_var | shq }} >playvar
    - shell: printf %s {{ .item | shq }} >item
      loop: "{{ .out.stdout_lines }}"
    - shell: printf %s {{ .wrapped | shq }} >wrapped
- hosts: h3
  gather_facts: false
  tasks:
    - shell: printf %s {{ .from_host | shq }} >added
`
	for _, payload := range hostilePayloads {
		i, err := inventory.Parse(&diag.Source{Name: "inv.yaml", Text: []byte(inv)}, ".")
		if err != nil {
			t.Fatal(err)
		}
		l := &playbooks.Loader{Catalog: runner.Catalog{Reg: modules.Default}}
		p, err := l.LoadText("t.yaml", []byte(pb))
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var scripts []string
		opt := runner.Options{Registry: modules.Default, Inventory: i, Output: quiet{}, Forks: 1,
			Connector: &runner.Connector{Dial: func(_ context.Context, name string, _ map[string]any) (transport.Conn, error) {
				return &hostileConn{name: name, payload: payload, mu: &mu, scripts: &scripts}, nil
			}}}
		st, err := runner.Run(context.Background(), p, opt)
		if err != nil {
			t.Fatalf("%q: %v", payload, err)
		}
		if got := recap(st); strings.Contains(got, "failed=1") {
			t.Errorf("%q: a task failed: %s", payload, got)
		}
		all := strings.Join(scripts, "\n")
		hostname, _ := os.ReadFile("/etc/hostname")
		for _, leak := range []string{"topsecret", os.Getenv("HOME") + "\x00"} {
			if strings.Contains(all, leak) {
				t.Errorf("%q: the controller sent %q back to the host", payload, leak)
			}
		}
		if h := strings.TrimSpace(string(hostname)); h != "" && !strings.Contains(payload, h) && strings.Contains(all, "printf %s "+hostexec.QuoteAlways(h)) {
			t.Errorf("%q: the controller read a file for the host", payload)
		}
		want := map[string]string{
			"reg": payload, "fact": payload, "playvar": payload, "wrapped": "[" + payload + "]", "added": payload,
		}
		if !strings.Contains(payload, "\n") && payload != "" {
			want["item"] = strings.TrimRight(payload, "\n")
		}
		for file, w := range want {
			line := "printf %s " + hostexec.QuoteAlways(w) + " >" + file
			if !strings.Contains(all, line) {
				t.Errorf("%q: no command %q; sent:\n%s", payload, line, all)
			}
		}
	}
}

// capture keeps every result the run reports, as an output would print it.
type capture struct {
	quiet
	mu  sync.Mutex
	all []string
}

func (c *capture) Result(r *runner.HostResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.all = append(c.all, fmt.Sprintf("%s %v %v %v", r.Msg, r.Data, r.Diffs, r.Warnings))
}

// A no_log task run in the background keeps its output hidden when
// async_status reads it.
func TestAsyncStatusKeepsNoLog(t *testing.T) {
	i, _ := inventory.Parse(&diag.Source{Name: "inv.yaml", Text: []byte("all:\n  hosts:\n    h1:\n")}, ".")
	l := &playbooks.Loader{Catalog: runner.Catalog{Reg: modules.Default}}
	p, err := l.LoadText("t.yaml", []byte(`- hosts: h1
  gather_facts: false
  tasks:
    - command: cat hostile
      async: 20
      poll: 0
      no_log: true
      register: job
    - async_status: {jid: "{{ .job.ansible_job_id }}"}
      register: st
      until: st.finished
      retries: 20
      delay: 0.1
    - debug: {var: st}
`))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var scripts []string
	out := &capture{}
	opt := runner.Options{Registry: modules.Default, Inventory: i, Output: out, Forks: 1,
		Connector: &runner.Connector{Dial: func(_ context.Context, name string, _ map[string]any) (transport.Conn, error) {
			return &hostileConn{name: name, payload: "the-job-secret-output", mu: &mu, scripts: &scripts}, nil
		}}}
	if _, err := runner.Run(context.Background(), p, opt); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(out.all, "\n")
	if strings.Contains(all, "the-job-secret-output") {
		t.Errorf("a no_log job's output shows:\n%s", all)
	}
	if !strings.Contains(all, "censored") {
		t.Errorf("async_status does not say the output is hidden:\n%s", all)
	}
}

// A secret-named argument never shows, in a diff either (yum_repository's
// password lands in the .repo file the diff shows).
func TestSecretArgumentsAreMaskedInDiffs(t *testing.T) {
	i, _ := inventory.Parse(&diag.Source{Name: "inv.yaml", Text: []byte("all:\n  hosts:\n    h1:\n")}, ".")
	l := &playbooks.Loader{Catalog: runner.Catalog{Reg: modules.Default}}
	p, err := l.LoadText("t.yaml", []byte(`- hosts: h1
  gather_facts: false
  connection: local
  tasks:
    - yum_repository: {name: epel, description: EPEL, baseurl: "http://mirror.invalid/epel", username: u, password: "repo-s3cret-pw", reposdir: "`+t.TempDir()+`"}
`))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var scripts []string
	out := &capture{}
	opt := runner.Options{Registry: modules.Default, Inventory: i, Output: out, Forks: 1, Diff: true,
		Connector: &runner.Connector{Dial: func(_ context.Context, name string, _ map[string]any) (transport.Conn, error) {
			return &hostileConn{name: name, mu: &mu, scripts: &scripts}, nil
		}}}
	if _, err := runner.Run(context.Background(), p, opt); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(out.all, "\n")
	if strings.Contains(all, "repo-s3cret-pw") {
		t.Errorf("the password shows:\n%s", all)
	}
	if !strings.Contains(all, "password") {
		t.Errorf("no diff to judge (the module did not run?):\n%s", all)
	}
}

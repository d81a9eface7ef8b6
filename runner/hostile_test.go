package runner_test

import (
	"context"
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

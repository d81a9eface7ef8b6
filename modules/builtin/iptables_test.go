package builtin_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/runbook-lab/runbook/internal/diag"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/transport"
)

// iptablesSteps run in order, each on the rules the earlier ones left.
var iptablesSteps = []map[string]any{
	{"chain": "INPUT", "protocol": "tcp", "destination_port": "22", "jump": "ACCEPT", "comment": "ssh in"},
	{"chain": "INPUT", "protocol": "tcp", "destination_port": "22", "jump": "ACCEPT", "comment": "ssh in"},
	{"chain": "INPUT", "ctstate": []string{"ESTABLISHED", "RELATED"}, "jump": "ACCEPT", "action": "insert", "rule_num": "1"},
	{"chain": "INPUT", "source": "10.0.0.0/8", "protocol": "tcp", "destination_ports": []string{"80", "443"}, "jump": "DROP"},
	{"chain": "INPUT", "policy": "DROP"},
	{"chain": "INPUT", "policy": "DROP"},
	{"chain": "FORWARD", "in_interface": "eth0", "protocol": "tcp", "jump": "REJECT", "reject_with": "tcp-reset"},
	{"chain": "OUTPUT", "protocol": "icmp", "reject_with": "icmp-port-unreachable"},
	{"table": "nat", "chain": "POSTROUTING", "out_interface": "eth0", "source": "192.168.100.0/24", "jump": "MASQUERADE"},
	{"chain": "MYCHAIN", "chain_management": true, "protocol": "udp", "destination_port": "53", "jump": "ACCEPT"},
	{"chain": "INPUT", "protocol": "icmp", "icmp_type": "echo-request", "limit": "10/second", "limit_burst": "20", "jump": "ACCEPT"},
	{"chain": "INPUT", "protocol": "tcp", "destination_port": "22", "jump": "ACCEPT", "comment": "ssh in", "state": "absent"},
	{"chain": "INPUT", "log_prefix": "dropped: ", "log_level": "4"},
	{"chain": "INPUT", "match": []string{"state"}, "ctstate": []string{"NEW"}, "protocol": "tcp", "syn": "match", "destination_port": "5432", "jump": "ACCEPT"},
	{"chain": "FORWARD", "source": "!10.1.0.0/16", "jump": "DROP"},
	{"chain": "OUTPUT", "uid_owner": "0", "jump": "ACCEPT"},
	{"chain": "INPUT", "src_range": "10.0.0.1-10.0.0.9", "jump": "DROP"},
	{"chain": "INPUT", "protocol": "tcp", "tcp_flags": map[string]any{"flags": []string{"ALL"}, "flags_set": []string{"ACK", "SYN"}}, "jump": "DROP"},
	{"chain": "FORWARD", "flush": true},
	{"chain": "MYCHAIN", "flush": true},
	{"chain": "MYCHAIN", "state": "absent", "chain_management": true},
	{"chain": "MYCHAIN", "state": "absent", "chain_management": true},
	{"chain": "INPUT", "ip_version": "ipv6", "protocol": "tcp", "destination_port": "5432", "jump": "ACCEPT"},
}

// nsHost runs every command inside a network namespace.
type nsHost struct {
	modules.Host
	ns string
}

func (h nsHost) Run(ctx context.Context, c modules.Cmd) (modules.CmdResult, error) {
	c.Script = "ip netns exec " + h.ns + " sh -c " + modules.Quote(c.Script)
	return h.Host.Run(ctx, c)
}

// rules is every table's rules in a namespace, as iptables-save would list
// them without counters.
func rules(t *testing.T, ns string) string {
	out := ""
	for _, bin := range []string{"iptables", "ip6tables"} {
		for _, table := range []string{"filter", "nat"} {
			b, err := exec.Command("ip", "netns", "exec", ns, bin, "-t", table, "-S").CombinedOutput()
			if err != nil {
				t.Fatalf("%s -t %s -S: %v %s", bin, table, err, b)
			}
			out += fmt.Sprintf("# %s %s\n%s", bin, table, b)
		}
	}
	return out
}

// The same steps by Ansible and by runbook, each in a network namespace of
// its own: the same changed flags step by step and the same rules at the end.
func TestIptablesMatchesAnsible(t *testing.T) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("ansible-playbook not installed (make test-deps installs it)")
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("iptables not installed (make test-deps installs it)")
	}
	nsA, nsB := fmt.Sprintf("rbipt-a%d", os.Getpid()), fmt.Sprintf("rbipt-b%d", os.Getpid())
	for _, ns := range []string{nsA, nsB} {
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			t.Skipf("no network namespace: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	}
	var tasks []map[string]any
	for _, s := range iptablesSteps {
		tasks = append(tasks, map[string]any{"iptables": s})
	}
	want := ansiblePlayIn(t, t.TempDir(), nsA, tasks)
	env := env(t, false)
	env.Host = nsHost{Host: &transport.Local{HostName: "localhost"}, ns: nsB}
	for i, s := range iptablesSteps {
		var n yaml.Node
		b, _ := yaml.Marshal(s)
		yaml.Unmarshal(b, &n)
		info, _ := modules.Default.Lookup("iptables")
		m := info.New()
		if err := diag.DecodeStrict(&diag.Source{Name: "args"}, n.Content[0], m, "iptables", nil); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if err := m.(modules.Validator).Validate(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		res, err := modules.Execute(context.Background(), m, env)
		if err != nil || res.Failed {
			t.Fatalf("step %d %v: %v %+v", i, s, err, res)
		}
		if wc, _ := want[i]["changed"].(bool); wc != res.Changed {
			t.Errorf("step %d %v: runbook changed=%v, Ansible %v", i, s, res.Changed, wc)
		}
		if wr, _ := want[i]["rule"].(string); wr != res.Data["rule"] {
			t.Errorf("step %d: rule %q, Ansible %q", i, res.Data["rule"], wr)
		}
	}
	if a, b := rules(t, nsA), rules(t, nsB); a != b {
		t.Errorf("rules after Ansible:\n%s\nafter runbook:\n%s", a, b)
	}
}

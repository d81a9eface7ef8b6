package runner

import (
	"fmt"
	"strings"

	"github.com/runbook-lab/runbook/internal/diag"
	"github.com/runbook-lab/runbook/playbooks"
	"github.com/runbook-lab/runbook/templates"
)

// preflight refuses, before any host is contacted, what would fail or do
// nothing on every host: a play's hosts template that cannot render, an
// unknown --start-at-task, a delegate_to naming no host.
func preflight(pb *playbooks.Playbook, opt Options) error {
	for _, p := range pb.Plays {
		if _, err := PlayHosts(p, opt.ExtraVars); err != nil {
			return p.At.Errorf("play %q: hosts %q: %v", p.Name, p.Hosts, err)
		}
		// vars_prompt: runbook runs unattended; -e or the default answers
		for _, q := range p.Prompts {
			if _, given := opt.ExtraVars[q.Name]; given {
				continue
			}
			if !q.HasDefault {
				return q.At.Errorf("vars_prompt %s (%q): runbook does not stop to ask; give it with -e %s=VALUE", q.Name, q.Prompt, q.Name)
			}
			if _, set := p.Vars[q.Name]; !set {
				p.Vars[q.Name] = q.Default
			}
		}
	}
	var names []string
	addsHosts := false
	var badDelegate error
	walkTasks(pb, func(t *playbooks.Task) {
		names = append(names, t.Name)
		if t.Module == "add_host" || t.Module == "group_by" {
			addsHosts = true
		}
		if d := t.DelegateTo; d != "" && !templates.Has(d) && badDelegate == nil && d != "localhost" && d != "127.0.0.1" {
			if _, ok := opt.Inventory.Host(d); !ok {
				badDelegate = t.DelegateAt.Errorf("delegate_to: %q is not a host of the inventory%s", d, diag.DidYouMean(d, opt.Inventory.Hosts()))
			}
		}
	})
	if badDelegate != nil && !addsHosts { // add_host may bring it later
		return badDelegate
	}
	if opt.StartAt != "" {
		for _, n := range names {
			if n == opt.StartAt {
				return nil
			}
		}
		return fmt.Errorf("--start-at-task: no task named %q in %s%s", opt.StartAt, pb.Name, diag.DidYouMean(opt.StartAt, names))
	}
	return nil
}

// walkTasks calls fn for every task of every play, inside blocks too.
func walkTasks(pb *playbooks.Playbook, fn func(*playbooks.Task)) {
	var walk func([]*playbooks.Task)
	walk = func(ts []*playbooks.Task) {
		for _, t := range ts {
			fn(t)
			walk(t.Block)
			walk(t.Rescue)
			walk(t.Always)
		}
	}
	for _, p := range pb.Plays {
		walk(p.Tasks)
		walk(p.Handlers)
	}
}

// connections are the ansible_connection values runbook can reach a host
// with ("" and smart: SSH, as Ansible's default).
var connections = map[string]bool{"": true, "ssh": true, "smart": true, "paramiko": true, "local": true}

// checkConnections refuses, before any host is contacted, a targeted host
// whose ansible_connection runbook does not have (docker, winrm...).
func checkConnections(plan *Plan, inv interface{ HostVars(string) map[string]any }) error {
	seen := map[string]bool{}
	for _, pp := range plan.Plays {
		for _, h := range pp.Hosts {
			if seen[h] {
				continue
			}
			seen[h] = true
			c, _ := inv.HostVars(h)["ansible_connection"].(string)
			if !connections[c] && !strings.Contains(c, "{{") {
				return fmt.Errorf("host %s: ansible_connection %q is not a connection runbook has (ssh or local); --limit can leave it out", h, c)
			}
		}
	}
	return nil
}

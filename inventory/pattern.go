package inventory

import (
	"fmt"
	"github.com/runbook-lab/runbook/internal/inputfile"
	"path"
	"strings"

	"github.com/runbook-lab/runbook/internal/diag"
)

// Select returns the hosts a pattern names, in inventory order. Terms are
// separated by ":" or ","; a term is a host, a group, a glob, or @file (one
// host per line, like a retry file); "!term" excludes and "&term"
// intersects, as in Ansible. A term that matches nothing is an error with a
// suggestion.
func (inv *Inventory) Select(pattern string) ([]string, error) {
	terms := splitPattern(pattern)
	if len(terms) == 0 {
		return nil, fmt.Errorf("empty host pattern")
	}
	set := map[string]bool{}
	first := true
	for _, term := range terms {
		op := byte(0)
		if term[0] == '!' || term[0] == '&' {
			op, term = term[0], term[1:]
		}
		hosts, err := inv.term(term)
		if err != nil {
			return nil, err
		}
		switch op {
		case '!':
			if first {
				for _, h := range inv.order {
					set[h] = true
				}
			}
			for _, h := range hosts {
				delete(set, h)
			}
		case '&':
			keep := map[string]bool{}
			for _, h := range hosts {
				if set[h] {
					keep[h] = true
				}
			}
			set = keep
		default:
			for _, h := range hosts {
				set[h] = true
			}
		}
		first = false
	}
	var out []string
	for _, h := range inv.order {
		if set[h] {
			out = append(out, h)
		}
	}
	if set["localhost"] && !contains(inv.order, "localhost") {
		out = append(out, "localhost")
	}
	return out, nil
}

func splitPattern(p string) []string {
	var out []string
	for _, t := range strings.FieldsFunc(p, func(r rune) bool { return r == ':' || r == ',' }) {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// ImplicitHypervisor is a pattern that means this machine when the
// inventory has no host or group of that name.
const ImplicitHypervisor = "hypervisor"

func (inv *Inventory) term(t string) ([]string, error) {
	if t == "all" || t == "*" {
		return inv.Hosts(), nil
	}
	if strings.HasPrefix(t, "@") {
		b, err := inputfile.Read(t[1:])
		if err != nil {
			return nil, fmt.Errorf("host pattern %s: %w", t, err)
		}
		var out []string
		for _, l := range strings.Fields(string(b)) {
			if _, ok := inv.hosts[l]; !ok {
				return nil, fmt.Errorf("host pattern %s: host %q is not in the inventory", t, l)
			}
			out = append(out, l)
		}
		return out, nil
	}
	if _, ok := inv.hosts[t]; ok {
		return []string{t}, nil
	}
	if t == "localhost" {
		// Ansible's implicit localhost: this machine, over a local
		// connection, named without being in the inventory (nor in "all").
		inv.hosts[t] = &Host{Name: t, Vars: map[string]any{"ansible_connection": "local"}}
		inv.changed()
		return []string{t}, nil
	}
	if _, ok := inv.groups[t]; ok {
		return inv.GroupHosts(t), nil
	}
	if t == ImplicitHypervisor {
		// the lab playbooks' hypervisor: this machine unless the inventory
		// names one (a host or group called "hypervisor")
		return inv.term("localhost")
	}
	if strings.ContainsAny(t, "*?[") {
		var out []string
		for _, h := range inv.order {
			if ok, _ := path.Match(t, h); ok {
				out = append(out, h)
			}
		}
		for _, g := range inv.GroupNames() {
			if ok, _ := path.Match(t, g); ok {
				out = append(out, inv.GroupHosts(g)...)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("host pattern: %q is neither a host nor a group in the inventory%s", t, diag.DidYouMean(t, append(inv.Hosts(), inv.GroupNames()...)))
}

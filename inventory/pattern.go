package inventory

import (
	"fmt"
	"github.com/runbook-lab/runbook/internal/inputfile"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/runbook-lab/runbook/internal/diag"
)

// Select returns the hosts a pattern names, as Ansible does. Terms are
// separated by ":" or ","; a term is a host, a group, a glob, a regular
// expression (~re, matched from the start of the name), any of these with a
// subscript (group[0], group[-1], group[0:2] inclusive, group[1:]), or
// @file (one host per line, like a retry file). Plain terms are united in
// the order written, then "&term" intersects and "!term" excludes (a
// pattern that starts with either starts from all). A term that matches
// nothing is an error with a suggestion.
func (inv *Inventory) Select(pattern string) ([]string, error) {
	terms := splitPattern(pattern)
	if len(terms) == 0 {
		return nil, fmt.Errorf("empty host pattern")
	}
	var plain, and, not []string
	for _, t := range terms {
		switch t[0] {
		case '&':
			and = append(and, t[1:])
		case '!':
			not = append(not, t[1:])
		default:
			plain = append(plain, t)
		}
	}
	if len(plain) == 0 {
		plain = []string{"all"}
	}
	var out []string
	seen := map[string]bool{}
	for _, t := range plain {
		hosts, err := inv.subscripted(t)
		if err != nil {
			return nil, err
		}
		for _, h := range hosts {
			if !seen[h] {
				seen[h] = true
				out = append(out, h)
			}
		}
	}
	for _, t := range and {
		hosts, err := inv.subscripted(t)
		if err != nil {
			return nil, err
		}
		in := toSet(hosts)
		out = filter(out, func(h string) bool { return in[h] })
	}
	for _, t := range not {
		hosts, err := inv.subscripted(t)
		if err != nil {
			return nil, err
		}
		in := toSet(hosts)
		out = filter(out, func(h string) bool { return !in[h] })
	}
	return out, nil
}

func toSet(l []string) map[string]bool {
	m := make(map[string]bool, len(l))
	for _, x := range l {
		m[x] = true
	}
	return m
}

func filter(l []string, keep func(string) bool) []string {
	var out []string
	for _, x := range l {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

// subscriptRE is Ansible's term[N], term[A:B] (B inclusive), term[A:], term[:B].
var subscriptRE = regexp.MustCompile(`^(.+)\[(?:(-?[0-9]+)|([0-9]*):([0-9]*))\]$`)

// subscripted is term with Ansible's subscript applied to its hosts.
func (inv *Inventory) subscripted(t string) ([]string, error) {
	m := subscriptRE.FindStringSubmatch(t)
	if m == nil || strings.HasPrefix(t, "~") {
		return inv.term(t)
	}
	if _, isHost := inv.hosts[t]; isHost {
		return []string{t}, nil
	}
	hosts, err := inv.term(m[1])
	if err != nil {
		return nil, err
	}
	if m[2] != "" {
		i, _ := strconv.Atoi(m[2])
		if i < 0 {
			i += len(hosts)
		}
		if i < 0 || i >= len(hosts) {
			return nil, nil
		}
		return []string{hosts[i]}, nil
	}
	start, end := 0, len(hosts)-1
	if m[3] != "" {
		start, _ = strconv.Atoi(m[3])
	}
	if m[4] != "" {
		end, _ = strconv.Atoi(m[4])
	}
	if start >= len(hosts) || start > end {
		return nil, nil
	}
	return hosts[start:min(end+1, len(hosts))], nil
}

// splitPattern splits a pattern into terms on "," and ":", but not inside
// a subscript (db[0:2]).
func splitPattern(p string) []string {
	var out []string
	depth, start := 0, 0
	flush := func(end int) {
		if t := strings.TrimSpace(p[start:end]); t != "" {
			out = append(out, t)
		}
	}
	for i, r := range p {
		switch {
		case r == '[':
			depth++
		case r == ']' && depth > 0:
			depth--
		case (r == ':' || r == ',') && depth == 0:
			flush(i)
			start = i + 1
		}
	}
	flush(len(p))
	return out
}

// ImplicitHypervisor is a pattern that means this machine when the
// inventory has no host or group of that name.
const ImplicitHypervisor = "hypervisor"

func (inv *Inventory) term(t string) ([]string, error) {
	if t == "all" || t == "*" {
		return inv.Hosts(), nil
	}
	if strings.HasPrefix(t, "~") {
		re, err := regexp.Compile("^(?:" + t[1:] + ")")
		if err != nil {
			return nil, fmt.Errorf("host pattern %s: %v", t, err)
		}
		var out []string
		for _, h := range inv.order {
			if re.MatchString(h) {
				out = append(out, h)
			}
		}
		for _, g := range inv.GroupNames() {
			if re.MatchString(g) {
				out = append(out, inv.GroupHosts(g)...)
			}
		}
		return out, nil
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

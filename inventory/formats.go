package inventory

import (
	"fmt"
	"maps"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/runbook-lab/runbook/internal/diag"
	"github.com/runbook-lab/runbook/internal/shellwords"
)

var groupKeys = []string{"hosts", "children", "vars"}

// parseYAML reads Ansible's YAML format: all: {hosts, children, vars}.
func parseYAML(inv *Inventory, src *diag.Source) error {
	doc, err := diag.ParseYAML(src)
	if err != nil {
		return err
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if err := diag.Duplicates(src, root); err != nil {
		return err
	}
	if root.Kind != yaml.MappingNode {
		return diag.Node(src, root, "inventory: expected a mapping of groups (all: ...), got %s", diag.KindName(root))
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if err := yamlGroup(inv, src, root.Content[i].Value, root.Content[i+1], 0); err != nil {
			return err
		}
	}
	return nil
}

func yamlGroup(inv *Inventory, src *diag.Source, name string, n *yaml.Node, depth int) error {
	inv.group(name)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return diag.Node(src, n, "group %q: expected a mapping with hosts, children or vars, got %s", name, diag.KindName(n))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "hosts":
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				continue
			}
			if v.Kind != yaml.MappingNode {
				return diag.Node(src, v, "group %q: hosts: expected a mapping of host names, got %s", name, diag.KindName(v))
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				hn, hv := v.Content[j], v.Content[j+1]
				vars := map[string]any{}
				if !(hv.Kind == yaml.ScalarNode && hv.Tag == "!!null") {
					if hv.Kind != yaml.MappingNode {
						return diag.Node(src, hv, "host %q: expected a mapping of variables, got %s", hn.Value, diag.KindName(hv))
					}
					if err := hv.Decode(&vars); err != nil {
						return diag.Node(src, hv, "host %q: %v", hn.Value, err)
					}
				}
				if err := checkHostVars(src, hv, hn.Value); err != nil {
					return err
				}
				target := name
				if name == "all" {
					target = ""
				}
				// a host written with its port (db1:2222), as Ansible's
				// parse_address reads it; the host's own ansible_port wins
				hostName, port, err := splitHostPort(hn.Value)
				if err != nil {
					return diag.Node(src, hn, "%v", err)
				}
				if _, given := vars["ansible_port"]; port != 0 && !given {
					vars["ansible_port"] = port
				}
				names, err := expandRange(hostName)
				if err != nil {
					return diag.Node(src, hn, "%v", err)
				}
				for _, n := range names {
					inv.AddHost(n, target, maps.Clone(vars))
				}
			}
		case "children":
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				continue
			}
			if v.Kind != yaml.MappingNode {
				return diag.Node(src, v, "group %q: children: expected a mapping of groups, got %s", name, diag.KindName(v))
			}
			if depth > 50 {
				return diag.Node(src, v, "groups nested too deep")
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				inv.addChildAt(name, v.Content[j].Value, v.Content[j].Line, v.Content[j].Column)
				if err := yamlGroup(inv, src, v.Content[j].Value, v.Content[j+1], depth+1); err != nil {
					return err
				}
			}
		case "vars":
			vars := map[string]any{}
			if err := v.Decode(&vars); err != nil {
				return diag.Node(src, v, "group %q: vars: expected a mapping of variables", name)
			}
			if err := checkHostVars(src, v, "group "+name); err != nil {
				return err
			}
			g := inv.group(name)
			for k2, x := range vars {
				g.Vars[k2] = x
			}
		default:
			return diag.Node(src, k, "group %q: unknown key %q%s (a group has hosts, children and vars)", name, k.Value, diag.DidYouMean(k.Value, groupKeys))
		}
	}
	return nil
}

// connectionVars are the host variables runbook reads itself; a near miss
// of one of them ("ansible_hots") is almost certainly a typo.
var connectionVars = []string{"ansible_host", "ansible_port", "ansible_user", "ansible_ssh_private_key_file",
	"ansible_connection", "ansible_become_password", "ansible_ssh_common_args", "ansible_password",
	"ansible_become", "ansible_become_user", "ansible_python_interpreter", "jump",
	"ansible_ssh_host", "ansible_ssh_port", "ansible_ssh_user", "ansible_ssh_known_hosts_file", "ansible_become_method",
	"ansible_ssh_pass", "ansible_become_pass", "ansible_ssh_extra_args"}

func checkHostVars(src *diag.Source, n *yaml.Node, host string) error {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if strings.HasPrefix(k.Value, "ansible_") && !contains(connectionVars, k.Value) {
			if s := diag.Suggest(k.Value, connectionVars); s != "" {
				return diag.Node(src, k, "host %q: unknown connection variable %q (did you mean %q?)", host, k.Value, s)
			}
		}
		if v := n.Content[i+1]; v.Kind == yaml.ScalarNode {
			if err := checkConnValue(k.Value, v.Value); err != nil {
				return diag.Node(src, v, "%s: %v", host, err)
			}
		}
	}
	return nil
}

// parseINI reads Ansible's INI format.
func parseINI(inv *Inventory, src *diag.Source) error {
	section, kind := "ungrouped", "hosts"
	for i, raw := range strings.Split(string(src.Text), "\n") {
		line := strings.TrimSpace(raw)
		lineNo := i + 1
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		if strings.HasPrefix(line, "[") {
			// Ansible allows a comment after the header: [web]  # the web servers
			if i := strings.Index(line, "]"); i > 0 && strings.HasPrefix(strings.TrimSpace(line[i+1:]), "#") {
				line = line[:i+1]
			}
			if !strings.HasSuffix(line, "]") {
				return diag.At(src, lineNo, 1, "expected a section header like [group], [group:vars] or [group:children]")
			}
			name := line[1 : len(line)-1]
			section, kind = name, "hosts"
			if g, suffix, ok := strings.Cut(name, ":"); ok {
				if suffix != "vars" && suffix != "children" {
					return diag.At(src, lineNo, len(g)+3, "unknown section kind %q%s (expected vars or children)", suffix, diag.DidYouMean(suffix, []string{"vars", "children"}))
				}
				section, kind = g, suffix
			}
			inv.group(section)
			continue
		}
		col := strings.Index(raw, line) + 1
		switch kind {
		case "hosts":
			words, err := shellwords.SplitComments(line) // Ansible: shlex with comments
			if err != nil {
				return diag.At(src, lineNo, col, "%v", err)
			}
			vars := map[string]any{}
			for _, w := range words[1:] {
				k, v, ok := strings.Cut(w, "=")
				if !ok {
					return diag.At(src, lineNo, col+strings.Index(line, w), "expected key=value after the host name, got %q", w)
				}
				if strings.HasPrefix(k, "ansible_") && !contains(connectionVars, k) {
					if s := diag.Suggest(k, connectionVars); s != "" {
						return diag.At(src, lineNo, col+strings.Index(line, w), "unknown connection variable %q (did you mean %q?)", k, s)
					}
				}
				if err := checkConnValue(k, v); err != nil {
					return diag.At(src, lineNo, col+strings.Index(line, w), "%v", err)
				}
				vars[k] = iniLiteral(v)
			}
			g := section
			if g == "ungrouped" {
				g = ""
			}
			name, port, err := splitHostPort(words[0])
			if err != nil {
				return diag.At(src, lineNo, col, "%v", err)
			}
			if port != 0 {
				if _, given := vars["ansible_port"]; !given {
					vars["ansible_port"] = port
				}
			}
			names, err := expandRange(name)
			if err != nil {
				return diag.At(src, lineNo, col, "%v", err)
			}
			for _, n := range names {
				inv.AddHost(n, g, maps.Clone(vars))
			}
		case "vars":
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return diag.At(src, lineNo, col, "expected key=value in [%s:vars]", section)
			}
			if err := checkConnValue(strings.TrimSpace(k), strings.TrimSpace(v)); err != nil {
				return diag.At(src, lineNo, col, "%v", err)
			}
			// the value as written, typed as ast.literal_eval types it
			// (Ansible's ini plugin: ['a','b'] is a list, "x"  # note is x)
			inv.group(section).Vars[strings.TrimSpace(k)] = iniLiteral(strings.TrimSpace(v))
		case "children":
			inv.addChildAt(section, line, lineNo, col)
		}
	}
	return nil
}

// splitHostPort splits a host written with its port, as Ansible's
// parse_address does: name:22, 10.0.0.1:22, [::1]:22 (a bare IPv6 address
// has no port).
func splitHostPort(h string) (string, int, error) {
	name, digits := h, ""
	if strings.HasPrefix(h, "[") {
		i := strings.Index(h, "]:")
		if i <= 0 {
			return h, 0, nil
		}
		name, digits = h[1:i], h[i+2:]
	} else {
		i := strings.LastIndex(h, ":")
		if i <= 0 || strings.Count(h, ":") > 1 {
			return h, 0, nil
		}
		name, digits = h[:i], h[i+1:]
	}
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return h, 0, nil // not a port: part of the name (a range, say)
	}
	// digits after the colon are a port, as Ansible reads them; one no
	// TCP port can be is a mistake, said here rather than at connect time
	p, err := strconv.Atoi(digits)
	if err != nil || p <= 0 || p > 65535 {
		return h, 0, fmt.Errorf("port %s of host %s out of range (1 to 65535)", digits, name)
	}
	return name, p, nil
}

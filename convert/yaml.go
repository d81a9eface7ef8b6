package convert

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/runbook-lab/runbook/internal/cond"
	"github.com/runbook-lab/runbook/internal/diag"
	"github.com/runbook-lab/runbook/internal/vault"
)

// conditionKeys hold conditions: runbook reads Ansible's condition
// language (tests, filters, `in`) as it is, so they are only checked.
var conditionKeys = map[string]bool{"when": true, "changed_when": true, "failed_when": true, "until": true}

var bareVar = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)

// taskLists are the keys whose value is a list of tasks.
var taskLists = map[string]bool{"tasks": true, "handlers": true, "pre_tasks": true, "post_tasks": true,
	"block": true, "rescue": true, "always": true}

// renamedKeys are old Ansible spellings of task keywords.
var renamedKeys = map[string]string{"include": "include_tasks", "sudo": "become", "sudo_user": "become_user"}

// droppedKeys mean nothing any more.
var droppedKeys = map[string]bool{"static": true}

// yamlConv converts one YAML file.
type yamlConv struct {
	file   string
	issues []Issue
	known  func(module string) bool // runbook has this module
}

// YAML converts a playbook, task, handler or variables file.
func YAML(file string, text []byte, known func(string) bool) ([]byte, []Issue, error) {
	if vault.IsVault(text) {
		return text, nil, nil // encrypted: carried as it is, opened at run time
	}
	// !vault values stay encrypted in the output: parsed without a vault
	doc, err := diag.ParseYAMLKeepVault(&diag.Source{Name: file, Text: text})
	if err != nil {
		return nil, nil, err
	}
	c := &yamlConv{file: file, known: known}
	if len(doc.Content) == 0 {
		return text, nil, nil
	}
	// a file's top list is tasks in a role's tasks/ or handlers/ folder
	// (or a tasks file beside a playbook); elsewhere it is plays
	dir := filepath.Base(filepath.Dir(file))
	rootTasks := dir == "tasks" || dir == "handlers" || !looksLikePlaybook(text) && doc.Content[0].Kind == yaml.SequenceNode &&
		dir != "meta" && dir != "vars" && dir != "defaults" && !strings.Contains(file, "molecule")
	c.node(doc.Content[0], "", rootTasks)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, nil, err
	}
	enc.Close()
	out := spaceItems(b.Bytes())
	if bytes.HasPrefix(text, []byte("---")) && !bytes.HasPrefix(out, []byte("---")) {
		out = append([]byte("---\n"), out...)
	}
	return out, c.issues, nil
}

func (c *yamlConv) issue(n *yaml.Node, line, col int, format string, args ...any) {
	l, cl := n.Line, n.Column
	if line > 1 {
		l, cl = n.Line+line-1, col
	} else if col > 0 {
		cl = n.Column + col - 1
	}
	c.issues = append(c.issues, Issue{File: c.file, Line: l, Col: cl, Msg: fmt.Sprintf(format, args...)})
}

// isTask says a mapping looks like a task (or a handler): it is in a list
// and is not a play.
func isTask(m *yaml.Node) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		switch m.Content[i].Value {
		case "hosts", "import_playbook":
			return false
		}
	}
	return true
}

// node converts n; key is the mapping key n is the value of; inTasks says
// n is an element of a task list.
func (c *yamlConv) node(n *yaml.Node, key string, inTasks bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		c.scalar(n, key)
	case yaml.SequenceNode:
		for _, e := range n.Content {
			c.node(e, key, inTasks)
		}
	case yaml.MappingNode:
		task := inTasks && isTask(n)
		if key == "vars" || key == "defaults" {
			task = false
		}
		var keep []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if task {
				if droppedKeys[k.Value] {
					continue
				}
				if nk, ok := renamedKeys[k.Value]; ok {
					k.Value = nk
				}
				if c.known != nil && !c.known(k.Value) && looksLikeModule(k.Value) {
					c.issue(k, 0, 0, "module %s is not available in runbook (see runbook doc)", k.Value)
				}
			}
			if k.Value == "vars" && v.Kind == yaml.SequenceNode {
				v = mergeListOfMaps(v) // vars: [{a: 1}, {b: 2}], an old form
			}
			if task && (k.Value == "loop" || strings.HasPrefix(k.Value, "with_") && k.Value != "with_sequence" && k.Value != "with_first_found") &&
				v.Kind == yaml.ScalarNode && bareVar.MatchString(v.Value) {
				// an old bare variable (with_items: packages): a template
				v.Value, v.Style = "{{ "+v.Value+" }}", yaml.DoubleQuotedStyle
			}
			if !task && strings.Contains(k.Value, "{{") {
				c.scalar(k, key) // a templated key (set_fact: {"{{ item.key }}": ...})
			}
			switch {
			case task && conditionKeys[k.Value] || k.Value == "that" && !task:
				c.condition(v)
			default:
				c.node(v, k.Value, taskLists[k.Value])
			}
			keep = append(keep, k, v)
		}
		n.Content = keep
	case yaml.DocumentNode:
		for _, e := range n.Content {
			c.node(e, key, false)
		}
	}
}

// looksLikeModule says a task key that runbook does not know is meant as
// a module (not a keyword runbook refuses with its own message).
func looksLikeModule(k string) bool {
	if strings.HasPrefix(k, "with_") {
		return false // a loop: the loader names the ones runbook lacks
	}
	for _, prefix := range []string{"ansible.builtin.", "ansible.legacy."} {
		if short, ok := strings.CutPrefix(k, prefix); ok && taskKeyword[short] {
			return false // ansible.builtin.import_tasks: a keyword the loader knows
		}
	}
	return strings.Count(k, ".") >= 2 || !strings.Contains(k, " ") && !taskKeyword[k]
}

var taskKeyword = map[string]bool{"name": true, "when": true, "loop": true, "loop_control": true, "register": true,
	"notify": true, "listen": true, "changed_when": true, "failed_when": true, "until": true, "retries": true, "delay": true,
	"ignore_errors": true, "tags": true, "become": true, "become_user": true, "become_method": true, "delegate_to": true,
	"run_once": true, "no_log": true, "check_mode": true, "vars": true, "block": true, "rescue": true, "always": true,
	"include_tasks": true, "import_tasks": true, "import_role": true, "include_role": true, "args": true, "timeout": true,
	"with_items": true, "with_list": true, "with_dict": true, "with_fileglob": true, "with_indexed_items": true,
	"environment": true, "remote_user": true, "connection": true, "any_errors_fatal": true, "throttle": true,
	"debugger": true, "diff": true, "ignore_unreachable": true, "action": true, "local_action": true,
	"async": true, "poll": true, "delegate_facts": true, "module_defaults": true, "collections": true,
	"vars_files": true, "port": true, "with_first_found": true}

func mergeListOfMaps(v *yaml.Node) *yaml.Node {
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: v.Line, Column: v.Column}
	for _, e := range v.Content {
		if e.Kind == yaml.MappingNode {
			out.Content = append(out.Content, e.Content...)
		}
	}
	return out
}

// scalar converts a templated string.
func (c *yamlConv) scalar(n *yaml.Node, key string) {
	if n.Tag != "!!str" && n.Tag != "" || !strings.Contains(n.Value, "{{") && !strings.Contains(n.Value, "{%") {
		return
	}
	out, issues := Template(n.Value)
	quoted := 0
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		quoted = 1
	}
	for _, is := range issues {
		c.issue(n, is.Line, is.Col+quoted, "%s", is.Msg)
	}
	n.Value = out
	if n.Style == 0 && strings.Contains(out, `"`) {
		n.Style = yaml.SingleQuotedStyle // plain would be misread: quotes inside
	}
}

// condition checks a condition (or a list of them) as runbook will read
// it, unwrapping {{ }}.
// innerTemplate is a quoted string in a condition that is one template
// ('{{ x }}'); bareTemplate one written bare (x == {{ y }}).
var (
	innerTemplate = regexp.MustCompile(`(['"])\{\{-?\s*([^{}'"]+?)\s*-?\}\}['"]`)
	bareTemplate  = regexp.MustCompile(`\{\{-?\s*([^{}]+?)\s*-?\}\}`)
)

// outsideQuotes applies f to the parts of a condition outside its string
// literals (a template inside a longer string is left, and reported).
func outsideQuotes(s string, f func(string) string) string {
	var b strings.Builder
	start, quote := 0, byte(0)
	for i := 0; i < len(s); i++ {
		switch {
		case quote == 0 && (s[i] == '\'' || s[i] == '"'):
			b.WriteString(f(s[start:i]))
			start, quote = i, s[i]
		case quote != 0 && s[i] == '\\':
			i++
		case quote != 0 && s[i] == quote:
			b.WriteString(s[start : i+1])
			start, quote = i+1, 0
		}
	}
	if quote != 0 {
		b.WriteString(s[start:])
	} else {
		b.WriteString(f(s[start:]))
	}
	return b.String()
}

func (c *yamlConv) condition(v *yaml.Node) {
	nodes := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		nodes = v.Content
	}
	for _, n := range nodes {
		if n.Kind != yaml.ScalarNode {
			continue
		}
		s := strings.TrimSpace(n.Value)
		if strings.HasPrefix(s, "{{") && strings.HasSuffix(s, "}}") && strings.Count(s, "{{") == 1 {
			s = strings.TrimSpace(s[2 : len(s)-2])
			n.Value = s
		}
		if strings.Contains(s, "{{") && !strings.Contains(s, "{%") {
			// '{{ x }}' in list, d['{{ k }}']: Ansible renders the inner
			// template first (and warns); the expression x says the same
			s = innerTemplate.ReplaceAllString(s, "(($2) | string)")
			s = outsideQuotes(s, func(code string) string { return bareTemplate.ReplaceAllString(code, "($1)") })
			n.Value = s
		}
		if strings.Contains(s, "{{") || strings.Contains(s, "{%") {
			c.issue(n, 0, 0, "a condition with templates inside ({{ }} within the expression) is not converted: write it as one expression")
			continue
		}
		if err := cond.Check(s); err != nil {
			c.issue(n, 0, 0, "condition %q: %v", s, err)
		}
	}
}

// spaceItems puts a blank line between the top-level items of a list (the
// plays of a playbook, the tasks of a task file), as people write them;
// the YAML encoder drops blank lines.
func spaceItems(out []byte) []byte {
	lines := bytes.Split(out, []byte("\n"))
	var b bytes.Buffer
	for i, l := range lines {
		if i > 0 && bytes.HasPrefix(l, []byte("- ")) && len(bytes.TrimSpace(lines[i-1])) > 0 {
			b.WriteByte('\n')
		}
		b.Write(l)
		if i < len(lines)-1 {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

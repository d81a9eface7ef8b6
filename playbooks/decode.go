package playbooks

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/runbook-lab/runbook/internal/cond"
	"github.com/runbook-lab/runbook/internal/diag"
	"github.com/runbook-lab/runbook/internal/shellwords"
	"github.com/runbook-lab/runbook/templates"
)

// decoder walks YAML nodes of one file.
type decoder struct {
	src *diag.Source
}

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{Src: d.src, Line: n.Line, Col: n.Column} }

func (d *decoder) errf(n *yaml.Node, format string, args ...any) error {
	return diag.Node(d.src, n, format, args...)
}

func resolve(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode {
		return n.Alias
	}
	return n
}

// mapping iterates a mapping's pairs, rejecting duplicate keys.
func (d *decoder) mapping(n *yaml.Node, what string, fn func(k, v *yaml.Node) error) error {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return d.errf(n, "%s: expected a mapping, got %s", what, diag.KindName(n))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if seen[k.Value] {
			return d.errf(k, "%s: key %q given twice", what, k.Value)
		}
		seen[k.Value] = true
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) str(n *yaml.Node, key string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", d.errf(n, "%s: expected a string, got %s", key, diag.KindName(n))
	}
	return n.Value, nil
}

// template checks a string's template syntax now, so that a typo fails
// before any host is contacted.
func (d *decoder) template(n *yaml.Node, s string) error {
	if !templates.Has(s) {
		return nil
	}
	if _, err := templates.Parse("", s); err != nil {
		msg := err.Error()
		if i := strings.Index(msg, ": "); i > 0 && strings.HasPrefix(msg, "template:") {
			msg = msg[strings.LastIndex(msg, ": ")+2:]
		}
		return d.errf(n, "bad template %q: %s%s", s, msg, jinjaHint(s))
	}
	if i := strings.Index(s, notConverted); i >= 0 {
		what := s[i+len(notConverted):]
		if j := strings.Index(what, `" }}`); j >= 0 {
			what = what[:j]
		}
		return d.errf(n, "not converted from Ansible: %s (runbook convert could not translate it: write it in runbook's template language, or set the value in a variable)", strings.TrimSpace(what))
	}
	return nil
}

// notConverted opens the failing action `runbook convert` writes where it
// could not translate a construct: a playbook holding one would fail at
// run time, so the check refuses it now.
const notConverted = `{{ fail "runbook convert could not convert:`

// jinjaAction is a Jinja2 expression: a bare name (no leading dot), a
// filter, or a call with parentheses, as Ansible playbooks write them.
var jinjaAction = regexp.MustCompile(`\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\s*(\||\}\}|\[|\(|==|!=|\+)|.*\|\s*[a-z_]+)`)

// jinjaHint points a Jinja2 expression (Ansible's template language) at
// what runbook reads instead.
func jinjaHint(s string) string {
	if !jinjaAction.MatchString(s) {
		return ""
	}
	if m := bareName.FindStringSubmatch(s); m != nil {
		return fmt.Sprintf(" (this is Jinja2, Ansible's template language; runbook's templates are Go templates: write {{ .%s }})", m[1])
	}
	return " (this looks like Jinja2, Ansible's template language; runbook's templates are Go templates: {{ .var }}, and {{ .var | default \"x\" }} is written {{ default \"x\" .var }})"
}

// bareName is "{{ name }}" or "{{ a.b }}" alone.
var bareName = regexp.MustCompile(`^\s*\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*-?\}\}\s*$`)

// templates checks every scalar under n.
func (d *decoder) templates(n *yaml.Node) error {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode {
		return d.template(n, n.Value)
	}
	for _, c := range n.Content {
		if err := d.templates(c); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) boolean(n *yaml.Node, key string) (bool, error) {
	var b bool
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		return false, d.errf(n, "%s: expected true or false, got %s", key, diag.KindName(n))
	}
	return b, nil
}

func (d *decoder) boolPtr(n *yaml.Node, key string) (*bool, error) {
	b, err := d.boolean(n, key)
	return &b, err
}

// becomeFlag reads become: true or false, or a template decided for each
// host when the task runs (`become: "{{ app_become }}"`).
func (d *decoder) becomeFlag(n *yaml.Node) (*bool, string, error) {
	if n.Kind == yaml.ScalarNode && templates.Has(n.Value) {
		return nil, n.Value, d.template(n, n.Value)
	}
	b, err := d.boolPtr(n, "become")
	return b, "", err
}

func (d *decoder) integer(n *yaml.Node, key string) (int, error) {
	i, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		return 0, d.errf(n, "%s: expected a whole number, got %s", key, diag.KindName(n))
	}
	return i, nil
}

// identRE is a variable name that templates and conditions can read.
var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// identifier reads a variable name (register, loop_var).
func (d *decoder) identifier(n *yaml.Node, key string) (string, error) {
	s, err := d.str(n, key)
	if err == nil && !identRE.MatchString(s) {
		return "", d.errf(n, "%s: %q is not a variable name (letters, digits and _, not starting with a digit)", key, s)
	}
	return s, err
}

// nonNegative is number that refuses values below zero (delay, timeout).
// maxSeconds bounds a number of seconds (about 31 years): a larger one
// overflows a duration and once made `pause: 1e300` no pause at all.
const maxSeconds = 1e9

func (d *decoder) nonNegative(n *yaml.Node, key string) (float64, error) {
	f, err := d.number(n, key)
	if err == nil && (f < 0 || f != f || f > maxSeconds) {
		return 0, d.errf(n, "%s: expected a number of seconds from 0 to %.0f, got %s", key, maxSeconds, n.Value)
	}
	return f, err
}

func (d *decoder) number(n *yaml.Node, key string) (float64, error) {
	f, err := strconv.ParseFloat(n.Value, 64)
	if n.Kind != yaml.ScalarNode || err != nil {
		return 0, d.errf(n, "%s: expected a number, got %s", key, diag.KindName(n))
	}
	return f, nil
}

// strList accepts "a" or [a, b].
func (d *decoder) strList(n *yaml.Node, key string) ([]string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil, nil
		}
		return []string{n.Value}, nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			c = resolve(c)
			s, err := d.str(c, key)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, d.errf(n, "%s: expected a string or a list of strings, got %s", key, diag.KindName(n))
}

// conditions accepts one expression or a list (all must hold), and checks
// their syntax now.
func (d *decoder) conditions(n *yaml.Node, key string) ([]string, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		return []string{n.Value}, nil
	}
	list, err := d.strList(n, key)
	if err != nil {
		return nil, err
	}
	for _, c := range list {
		if templates.Has(c) {
			return nil, d.errf(n, "%s: conditions are expressions, not templates: write %s", key, strings.TrimSpace(strings.NewReplacer("{{", "", "}}", "", ".", "").Replace(c)))
		}
		if err := cond.Check(c); err != nil {
			return nil, d.errf(n, "%s: bad expression %q: %v", key, c, err)
		}
	}
	return list, nil
}

func (d *decoder) vars(n *yaml.Node, key string) (map[string]any, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return map[string]any{}, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, d.errf(n, "%s: expected a mapping of variables, got %s", key, diag.KindName(n))
	}
	if err := d.templates(n); err != nil {
		return nil, err
	}
	if err := diag.Duplicates(d.src, n); err != nil {
		return nil, err
	}
	out := map[string]any{}
	if err := n.Decode(&out); err != nil {
		return nil, d.errf(n, "%s: %v", key, err)
	}
	return out, nil
}

func unknownKey(d *decoder, k *yaml.Node, what string, known []string) error {
	return d.errf(k, "%s: unknown key %q%s", what, k.Value, diag.DidYouMean(k.Value, known))
}

// ParseKV turns `a=1 b='two words'` into a mapping node positioned at n, for
// the k=v form of module arguments. Values keep YAML's scalar typing.
func ParseKV(n *yaml.Node) (*yaml.Node, error) {
	// template actions stay whole, spaces and quotes inside them included
	// (Ansible's parse_kv keeps {{ }} blocks together)
	var actions []string
	protected := templateAction.ReplaceAllStringFunc(n.Value, func(a string) string {
		actions = append(actions, a)
		return fmt.Sprintf("\x00%d\x00", len(actions)-1)
	})
	words, err := shellwords.Split(protected)
	if err != nil {
		return nil, err
	}
	restore := regexp.MustCompile("\x00(\\d+)\x00")
	for i, w := range words {
		words[i] = restore.ReplaceAllStringFunc(w, func(m string) string {
			k, err := strconv.Atoi(m[1 : len(m)-1])
			if err != nil || k < 0 || k >= len(actions) {
				return m // the text had such bytes of its own
			}
			return actions[k]
		})
	}
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("expected key=value, got %q", w)
		}
		m.Content = append(m.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k, Line: n.Line, Column: n.Column},
			&yaml.Node{Kind: yaml.ScalarNode, Value: v, Line: n.Line, Column: n.Column})
	}
	for i := 1; i < len(m.Content); i += 2 {
		m.Content[i].Tag = resolveTag(m.Content[i].Value)
	}
	return m, nil
}

func resolveTag(v string) string {
	var n yaml.Node
	if yaml.Unmarshal([]byte(v), &n) == nil && len(n.Content) == 1 && n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Value == v {
		return n.Content[0].Tag
	}
	return "!!str"
}

// env reads an environment: mapping of variable names to values (a
// template naming a mapping is not supported: it must be visible here).
func (d *decoder) env(n *yaml.Node) (map[string]string, error) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return nil, d.errf(n, "environment: expected a mapping of NAME: value, got %s", diag.KindName(n))
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if !envName.MatchString(k.Value) {
			return nil, d.errf(k, "environment: %q is not a variable name", k.Value)
		}
		if v.Kind != yaml.ScalarNode {
			return nil, d.errf(v, "environment: %s: expected a string, got %s", k.Value, diag.KindName(v))
		}
		if err := d.template(v, v.Value); err != nil {
			return nil, err
		}
		out[k.Value] = v.Value
	}
	return out, nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkBecomeMethod accepts sudo, the one runbook has.
func checkBecomeMethod(d *decoder, n *yaml.Node) error {
	m, err := d.str(n, "become_method")
	if err != nil {
		return err
	}
	if m != "sudo" && !strings.Contains(m, "{{") {
		return d.errf(n, "become_method: %q is not supported (runbook becomes with sudo)", m)
	}
	return nil
}

// prompts reads vars_prompt.
func (d *decoder) prompts(n *yaml.Node) ([]Prompt, error) {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		return nil, d.errf(n, "vars_prompt: expected a list")
	}
	var out []Prompt
	for _, e := range n.Content {
		e = resolve(e)
		p := Prompt{At: d.pos(e), Private: true}
		err := d.mapping(e, "vars_prompt", func(k, v *yaml.Node) error {
			var err error
			switch k.Value {
			case "name":
				p.Name, err = d.identifier(v, "name")
			case "prompt":
				p.Prompt, err = d.str(v, "prompt")
			case "default":
				p.HasDefault = true
				err = v.Decode(&p.Default)
			case "private":
				p.Private, err = d.boolean(v, "private")
			case "confirm", "encrypt", "salt_size", "salt", "unsafe":
			default:
				return unknownKey(d, k, "vars_prompt", []string{"name", "prompt", "default", "private", "confirm", "encrypt", "salt_size", "unsafe"})
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

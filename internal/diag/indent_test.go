package diag

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Broken indentation is reported at the line that is wrong, not where the
// parser's block began; correct YAML finds nothing.
func TestYAMLErrorsPointAtTheWrongLine(t *testing.T) {
	cases := []struct {
		text string
		line int
	}{
		{"- hosts: all\n  tasks:\n    - name: one\n      command: /bin/true\n   - debug: msg=x\n", 5},
		{"- hosts: all\n  tasks:\n    - name: one\n      command: /bin/true\n       register: r\n", 5},
		{"- hosts: all\n  tasks:\n    - name: x\n     command: /bin/true\n", 4},
		{"- hosts: all\n  vars:\n    a: 1\n     b: 2\n  tasks: []\n", 4},
		{"all:\n  hosts:\n    db1:\n  ansible_host: x\n    db2:\n", 5},
		{"- hosts: all\n tasks: []\n", 2},
		{"- hosts: all\n  tasks:\n  - debug:\n      msg: |\n        text\n          more\n  - command: x\n      register: r\n", 8},
	}
	for _, c := range cases {
		var n yaml.Node
		err := yaml.Unmarshal([]byte(c.text), &n)
		if err == nil {
			t.Errorf("valid YAML? %q", c.text)
			continue
		}
		de := FromYAML(&Source{Name: "f", Text: []byte(c.text)}, err).(*Error)
		if de.Line != c.line {
			t.Errorf("reported at line %d, want %d (%v)\n%s", de.Line, c.line, err, c.text)
		}
	}
	for _, ok := range []string{
		"- hosts: all\n  tasks:\n    - name: one\n      command: x\n    - debug:\n        msg: |\n          a\n            b\n",
		"a:\n  - b\n  - c: 1\n    d: 2\n  -   e: 3\n      f: 4\n",
		"k: \"multi\n  line\"\nx: 1\n",
	} {
		if _, _, found := badIndent(ok); found {
			l, c, _ := badIndent(ok)
			t.Errorf("valid YAML flagged at %d:%d:\n%s", l, c, strings.TrimSpace(ok))
		}
	}
}

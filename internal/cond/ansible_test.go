package cond

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// ansibleVars are the variables the Ansible-form cases read (the same
// values are given to ansible-playbook as play vars).
const ansibleVars = `
flag: "yes"
off: "no"
count: 3
name: Debian
version: "15.4"
items: [a, b, c]
empty: []
res: {changed: true, failed: false, rc: 0, stdout: "all ok"}
bad: {changed: false, failed: true, rc: 2, stdout: ""}
skip: {changed: false, skipped: true}
conf: {port: 5432}
nothing: null
zero: 0
blank: ""
nodes: [{name: a, primary: true, port: 5432}, {name: b, primary: false, port: 6432}]
words: ["x", "", " y "]
etcdir: /etc
hostsfile: /etc/hosts
nofile: /nonexistent-runbook
`

// ansibleCases are conditions written as Ansible users write them.
var ansibleCases = []string{
	`flag | bool`, `off | bool`, `not (off | bool)`, `items | length == 3`, `empty | length == 0`,
	`items | length > count`, `res is changed`, `res is not changed`, `bad is failed`, `bad is not failed`,
	`res is succeeded`, `res is success`, `skip is skipped`, `res is not skipped`,
	`version is version("15", ">=")`, `version is version('15.10', '<')`, `version is version("15.4", "==")`,
	`version is version_compare("9.6", "gt")`, `missing is undefined`, `missing is not defined`, `res.rc is defined`,
	`missing | default(true) | bool`, `missing | default(false) | bool`, `conf.port | default(1) == 5432`,
	`name | lower == "debian"`, `name | upper == "DEBIAN"`, `"ok" in res.stdout`, `"b" in items`,
	`nothing is none`, `name is string`, `count is number`, `conf is mapping`, `items is iterable`,
	`name is match("Deb")`, `name is match("bian")`, `name is search("bian")`,
	`(items | map("regex_replace", "^a$", "z") | list) == ["z", "b", "c"]`, `(words | map("regex_search", "y") | select | list | length) == 1`, "(items |\n  map('upper') | list | length) ==\n (items | length)",
	`etcdir is directory`, `hostsfile is file`, `hostsfile is not directory`, `nofile is not exists`, `etcdir is exists`, `hostsfile is abs`, `name is not abs`,
	`name is search("^deb", ignorecase=True)`, `name is not search("^deb", ignorecase=False)`, `res.stdout is search("^ALL OK$", multiline=True, ignorecase=True)`, `name is match("D", multiline=true)`, `res.rc == 0 and not (bad.rc == 0)`,
	`{{ count == 3 }}`, `True`, `count == 3 and True`, `nothing == None`, `items | first == "a"`, `items | last == "c"`,
	`(res.stdout | length) > 0`, `count | int == 3`, `"5432" == conf.port | string`,
	// a value that is not a boolean, judged by its truth (until: job.finished)
	`count`, `zero`, `items`, `empty`, `conf`, `nothing`, `name`, `blank`, `res.rc`, `bad.rc`,
	// filters real roles use in conditions
	`(version | regex_replace('[.]', '')) == "154"`, `name | regex_replace('^D(e)', 'd') == "dbian"`,
	`res.stdout | regex_search('al+')`, `not (res.stdout | regex_search('zz'))`, `items | join(',') == "a,b,c"`,
	`(name | replace('Deb', 'Ub')) == "Ubian"`, `version is version(("v15.10" | regex_replace('v', '')), '<')`,
	`(missing is not defined) or (version is version((name | regex_replace('Debian', '16')), '>='))`, `"v1.2" | regex_replace('v', '') in "1.2.3"`,
	// keyword arguments (geerlingguy's git role: operator="!=")
	`version is version("15.4", operator="!=")`, `version is version("15.10", operator='lt')`, `version is version(version="15", operator=">=")`,
	// forms from dev-sec's hardening roles: Python's not precedence, tuples,
	// a one-argument test without parentheses, and Jinja's other tests
	`not name == "Debian"`, `not name == "RedHat"`, `not res.rc == 0 and count == 3`, `not (name == "Debian") or count == 3`,
	`res.rc not in (257, 0)`, `bad.rc not in (257, 0)`, `count in (1, 2, 3)`, `(count, 4) | length == 2`,
	`"a" is in items`, `"z" is not in items`, `items is contains("b")`, `count is divisibleby 3`, `count is divisibleby(2)`,
	`count is odd`, `count is even`, `count is eq 3`, `count is gt(2)`, `count is lt 2`, `name is not in ["Debian", "Ubuntu"]`,
	`not items is contains("z")`, `not flag | bool`, `not "x" in name`,
	`items | difference(["a"]) | length == 2`, `(items | union(["d", "a"])) == ["a", "b", "c", "d"]`, `items | intersect(["c", "z"]) == ["c"]`,
	`[[1, [2]], 3, None] | flatten == [1, 2, 3]`, `[[1, [2]], 3] | flatten(1) | length == 3`, `items | symmetric_difference(["a", "z"]) == ["b", "c", "z"]`,
	`"b" in items | difference(["b"])`, `empty | union(items) | length == 3`,
	`not lookup('varnames', '^' + 'nothing_like_this' + '$')`, `lookup('varnames', '^cou')`, `lookup('varnames', '^co', '^fl') == "conf,count,flag"`,
	// select, reject, selectattr, rejectattr and map (geerlingguy's certbot role, and many others)
	`words | select('!=', '') | list | length == 2`, `words | reject('equalto', '') | list == ["x", " y "]`, `words | select | list | length == 2`,
	`nodes | selectattr('primary') | map(attribute='name') | list == ["a"]`, `nodes | rejectattr('port', 'gt', 6000) | map(attribute='name') | first == "a"`,
	`nodes | selectattr('name', 'in', ['b', 'c']) | list | length == 1`, `nodes | selectattr('nope', 'defined') | list | length == 0`,
	`items | map('upper') | list == ["A", "B", "C"]`, `[1, 2, 3, 4] | select('odd') | list == [1, 3]`, `items | select('match', 'a|b') | list | length == 2`,
	`(nodes | selectattr('primary', 'equalto', true) | list | length) > 0`, `nodes | map(attribute='port') | select('>=', 6000) | list == [6432]`,
	`words | map('trim') | reject('==', '') | list == ["x", "y"]`, `not (nodes | selectattr('port', 'lt', 1000) | list)`,
	// Python methods, item.1 and ~ (geerlingguy's php role, robertdebock's bootstrap role)
	`version.split('.') | first == "15"`, `version.split('.')[1] == "4"`, `name.startswith('Deb')`, `name.endswith(('x', 'an'))`,
	`name.lower() == "debian"`, `(name ~ '-' ~ version) == "Debian-15.4"`, `name ~ count == "Debian3"`, `nodes.1.name == "b"`,
	`items.0 == "a"`, `conf.get('port') == 5432`, `conf.get('nope', 7) == 7`, `'x' ~ nothing == "xNone"`, `",".join(items) == "a,b,c"`,
	`name is regex('^' ~ 'Deb')`, `"  pad ".strip() == "pad"`, `conf.keys() | list == ["port"]`, `version.replace('.', '') == "154"`,
	`"12".isdigit()`, `res.stdout is search('a' ~ 'l' ~ 'l')`, `name != (nodes.0.name ~ "x".upper())`,
	// Ansible's other spellings of the result tests (mrlesmithjr's netplan role: until: result is successful)
	`res is successful`, `not (res is skip)`, `res is change`,
	// a space before a filter's arguments (elastic's elasticsearch role)
	`conf.keys() | list | intersect (["port", "x"]) | length > 0`, `items | difference (["a"]) == ["b", "c"]`,
	// a subscript in a defined test (hostvars['postgres-client'].drill)
	`conf['port'] is defined`, `conf["port"] is defined`, `conf['nope'] is defined`, `conf['port'] is not defined`, `items[1] is defined`,
	`items[7] is defined`, `items[-1] is defined`, `nodes[0].name is defined`, `nodes[0]['port'] is defined`, `nodes[1].nope is undefined`,
	`res['rc'] is defined and res['rc'] == 0`, `conf[name] is defined`, `nodes[count - 2].primary is defined`,
	// filters and tests by their collection's name (`| ansible.builtin.x`)
	// (the filters' own cases are the runner's: templates lend them to conditions)
	`name is ansible.builtin.match("Deb")`, `name is not ansible.builtin.search("zz")`, `name is ansible.builtin.regex("b.a")`,
	`version is version("15.4", strict=false)`, `version is version("15.4", ">", version_type="loose")`, `(res.rc == 0) and ((version | regex_replace("v", "")) is version("15.3", operator="!="))`,
}

func TestAnsibleFormsLocally(t *testing.T) {
	var vars map[string]any
	if err := yaml.Unmarshal([]byte(ansibleVars), &vars); err != nil {
		t.Fatal(err)
	}
	for _, c := range ansibleCases {
		if err := Check(c); err != nil {
			t.Errorf("Check(%s): %v", c, err)
		}
		if _, err := Eval(c, vars); err != nil {
			t.Errorf("Eval(%s): %v", c, err)
		}
	}
}

// Every case gives what Ansible (ansible-playbook, Debian's ansible-core)
// gives for the same condition and variables.
func TestAnsibleFormsMatchAnsible(t *testing.T) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("ansible-playbook not installed (make test-deps installs it)")
	}
	var vars map[string]any
	if err := yaml.Unmarshal([]byte(ansibleVars), &vars); err != nil {
		t.Fatal(err)
	}
	var tasks []map[string]any
	for _, c := range ansibleCases {
		expr := c
		if !strings.HasPrefix(strings.TrimSpace(c), "{{") {
			expr = "{{ " + c + " }}"
		}
		tasks = append(tasks, map[string]any{"debug": map[string]any{"msg": "{{ ( " + strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(expr), "{{"), "}}") + " ) | ternary('T', 'F') }}"}})
	}
	results := ansibleRun(t, vars, tasks)
	for i, c := range ansibleCases {
		want := fmt.Sprint(results[i]["msg"]) == "T"
		got, err := Eval(c, vars)
		if err != nil || got != want {
			t.Errorf("%s: runbook %v (%v), Ansible %v", c, got, err, want)
		}
	}
}

// whenCases hold backslashes: in a when (a {% if %} to Ansible) Jinja
// reads a string's escapes once ("\\1" is a back-reference, "\." stays),
// where inside {{ }} Ansible doubles backslashes first, so they are judged
// as whens. The first is geerlingguy's git role's condition.
var whenCases = []string{
	`(res.rc == 0) and (version | regex_replace("^.*?([0-9\.]+)$", "\\1") is version("15.3", operator="!="))`,
	`"v15.4" | regex_replace("^v([0-9\.]+)$", "\\1") is version("15.4", "==")`,
	`"a.b" | regex_replace("\.", "-") == "a-b"`, `"a\\b" | length == 3`,
}

func TestWhenBackslashesMatchAnsible(t *testing.T) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("ansible-playbook not installed (make test-deps installs it)")
	}
	var vars map[string]any
	if err := yaml.Unmarshal([]byte(ansibleVars), &vars); err != nil {
		t.Fatal(err)
	}
	var tasks []map[string]any
	for _, c := range whenCases {
		tasks = append(tasks, map[string]any{"debug": map[string]any{"msg": "T"}, "when": c})
	}
	results := ansibleRun(t, vars, tasks)
	if len(results) != len(whenCases) {
		t.Fatalf("Ansible ran %d tasks", len(results))
	}
	for i, c := range whenCases {
		skipped, _ := results[i]["skipped"].(bool)
		want := !skipped
		if !want {
			t.Errorf("%s: Ansible skipped it; every case here is true to Ansible 2.14", c)
		}
		got, err := Eval(c, vars)
		if err != nil || got != want {
			t.Errorf("%s: runbook %v (%v), Ansible %v", c, got, err, want)
		}
	}
}

// ansibleRun runs tasks on localhost with ansible-playbook (vars as play
// vars) and gives each task's result.
func ansibleRun(t *testing.T, vars map[string]any, tasks []map[string]any) []map[string]any {
	t.Helper()
	play := []map[string]any{{"hosts": "localhost", "gather_facts": false, "connection": "local", "vars": vars, "tasks": tasks}}
	dir := t.TempDir()
	b, _ := json.Marshal(play)
	pbPath := filepath.Join(dir, "p.yaml")
	os.WriteFile(pbPath, b, 0o600)
	cmd := exec.Command("ansible-playbook", "-i", "localhost,", pbPath)
	cmd.Env = append(os.Environ(), "ANSIBLE_STDOUT_CALLBACK=json", "ANSIBLE_LOCALHOST_WARNING=false", "ANSIBLE_INVENTORY_UNPARSED_WARNING=false", "HOME="+dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ansible-playbook: %v\n%s", err, out)
	}
	var res struct {
		Plays []struct {
			Tasks []struct {
				Hosts map[string]map[string]any `json:"hosts"`
			} `json:"tasks"`
		} `json:"plays"`
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res.Plays) == 0 {
		t.Fatalf("%v\n%s", err, out)
	}
	var results []map[string]any
	for _, tk := range res.Plays[0].Tasks {
		results = append(results, tk.Hosts["localhost"])
	}
	return results
}

// lookup('env') reads only the variable its author names literally.
func TestEnvLookupIsLiteral(t *testing.T) {
	t.Setenv("RB_COND_ENV", "yes")
	vars := map[string]any{"name": "RB_COND_ENV"}
	if ok, err := Eval(`lookup('env', 'RB_COND_ENV') == 'yes'`, vars); err != nil || !ok {
		t.Errorf("literal name: %v %v", ok, err)
	}
	for _, c := range []string{`lookup('env', name) == 'yes'`, `lookup('env', 'X', name) != ''`} {
		if _, err := Eval(c, vars); err == nil || !strings.Contains(err.Error(), "literally") {
			t.Errorf("%s: %v, want refused", c, err)
		}
		if err := Check(c); err == nil {
			t.Errorf("Check(%s) passed", c)
		}
	}
}

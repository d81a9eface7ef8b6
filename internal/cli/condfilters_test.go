package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// conditions that use filters and tests the way public roles write them
// (dirname, b64decode, dict2items: once template-only; a test name with a
// space before its arguments; the magic ansible_version)
var filterConds = []string{
	`('/a/b/c' | dirname) == '/a/b'`,
	`('aGk=' | b64decode) == 'hi'`,
	`({'a': 1} | dict2items | length) == 1`,
	`ansible_version.full is version ('2.9', '>=')`,
	`ansible_version.major >= 2`,
	`('/x/y.tar' | basename) == 'y.tar'`,
	`('abc' | b64encode) == 'YWJj'`,
	`([{'key': 'k', 'value': 'v'}] | items2dict) == {'k': 'v'}`,
	`('{"a": 1}' | from_json).a == 1`,
	`('/a/b/c' | dirname) == '/a'`,
	`inventory_hostname_short == 'localhost'`,
	`(ansible_run_tags | length) == 1`,
	// the same filters by their collection's name
	`('/a/b/c' | ansible.builtin.dirname) == '/a/b'`,
	`('aGk=' | ansible.builtin.b64decode) == 'hi'`,
	`({'a': 1} | ansible.builtin.dict2items | length) == 1`,
	`('/a/b' | ansible.builtin.basename) == 'a'`,
}

// Which of the conditions hold in Ansible and in runbook (after convert):
// the same ones.
func TestConditionFiltersMatchAnsible(t *testing.T) {
	var play strings.Builder
	play.WriteString("- hosts: localhost\n  gather_facts: false\n  tasks:\n")
	for i, c := range filterConds {
		play.WriteString("    - debug: {msg: \"cond " + string(rune('a'+i)) + " holds\"}\n      when: \"" + strings.ReplaceAll(c, `"`, `\"`) + "\"\n")
	}
	dir := srcDir(t)
	writeFile(t, dir, "conds.yaml", play.String())
	aout, rout := bothPlay(t, dir, "conds.yaml")
	holds := regexp.MustCompile(`cond ([a-z]) holds`)
	set := func(s string) string {
		var l []string
		for _, m := range holds.FindAllStringSubmatch(s, -1) {
			l = append(l, m[1])
		}
		sort.Strings(l)
		return strings.Join(l, " ")
	}
	// ansible prints each message twice (task header holds none): dedupe
	a, b := uniq(set(aout)), uniq(set(rout))
	if a != b || a == "" {
		t.Errorf("conditions that hold: Ansible %q, runbook %q\n%s", a, b, rout)
	}
}

func uniq(s string) string {
	var out []string
	for _, f := range strings.Fields(s) {
		if len(out) == 0 || out[len(out)-1] != f {
			out = append(out, f)
		}
	}
	return strings.Join(out, " ")
}

// Python's * and Jinja's ** in templates, as Ansible renders them: a
// string times a number repeats it (it once printed 0), ** is from the
// left and tighter than a sign. Only values both print alike (lists and
// floats print differently: noted in the README).
var arithmetic = []string{
	`'=' * 5`, `3 * 'ab'`, `n * 4`, `2 ** 3 ** 2`, `-2 ** 2`, `2 ** -1`, `'x' * 0`, `'x' * -2`,
	`([1, 2] * 2) | length`, `(n * 'ab') | length`, `2 ** 10 - 1`, `7 * 6 // 4`,
}

func TestArithmeticMatchesAnsible(t *testing.T) {
	var play strings.Builder
	play.WriteString("- hosts: localhost\n  gather_facts: false\n  vars: {n: 3}\n  tasks:\n")
	for _, e := range arithmetic {
		play.WriteString("    - debug: {msg: \"<<{{ " + strings.ReplaceAll(e, `"`, `\"`) + " }}>>\"}\n")
	}
	dir := srcDir(t)
	writeFile(t, dir, "arith.yaml", play.String())
	aout, rout := bothPlay(t, dir, "arith.yaml")
	a, r := marked(aout), marked(rout)
	if len(a) != len(arithmetic) || len(r) != len(arithmetic) {
		t.Fatalf("values: Ansible %q, runbook %q\n%s", a, r, rout)
	}
	for i, e := range arithmetic {
		if a[i] != r[i] {
			t.Errorf("%s: Ansible %q, runbook %q", e, a[i], r[i])
		}
	}
}

// import_tasks of "{{ playbook_dir }}/../../tests/tasks/post.yml", the
// molecule idiom of a verify playbook two folders down: Ansible knows
// playbook_dir when it loads, and so does runbook (it was "no file
// matches").
func TestImportUnderPlaybookDirMatchesAnsible(t *testing.T) {
	dir := srcDir(t)
	os.MkdirAll(filepath.Join(dir, "tests", "tasks"), 0o755)
	os.MkdirAll(filepath.Join(dir, "molecule", "default"), 0o755)
	writeFile(t, dir, "tests/tasks/post.yml", "- debug: {msg: \"<<post ran>>\"}\n")
	writeFile(t, dir, "molecule/default/verify.yml", "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - import_tasks: \"{{ playbook_dir }}/../../tests/tasks/post.yml\"\n")
	aout, rout := bothPlay(t, dir, "molecule/default/verify.yml")
	if !strings.Contains(aout, "<<post ran>>") || !strings.Contains(rout, "<<post ran>>") {
		t.Errorf("Ansible:\n%s\nrunbook:\n%s", aout, rout)
	}
}

// ansible.utils' IP filters as network roles use them (netplan's verify:
// `| ansible.utils.ipaddr('address')`), rendered by Ansible (with Python's
// netaddr) and by runbook. Values print alike: lists are joined, truth is
// spelled out.
var ipFilters = []string{
	`'192.168.1.10/24' | ansible.utils.ipaddr('address')`, `'192.168.1.10/24' | ipaddr('network')`,
	`'192.168.1.10/24' | ipaddr('netmask')`, `'192.168.1.10/24' | ipaddr('prefix')`, `'192.168.1.10/24' | ipaddr('broadcast')`,
	`'192.168.1.10/24' | ipaddr('host')`, `'192.168.1.10/24' | ipaddr('subnet')`, `'192.168.1.10/24' | ipaddr('size')`,
	`'192.168.1.10/255.255.255.0' | ipaddr('prefix')`, `'10.0.0.0/8' | ipaddr('net')`, `'10.0.0.0/8' | ipaddr('1')`,
	`'10.0.0.0/8' | ipaddr('-1')`, `'10.1.2.3' | ipaddr`, `'10.1.2.3' | ipaddr('public') | string`, `'8.8.8.8' | ipaddr('public')`,
	`'192.168.0.1/30' | ipaddr('first_usable')`, `'192.168.0.1/30' | ipaddr('last_usable')`, `'192.168.0.0/24' | ipaddr('address') | string`,
	`'10.0.0.1/24' | ipaddr('address/prefix')`, `'10.0.0.1' | ipaddr('revdns')`,
	`'fe80::1/64' | ipaddr('network')`, `'2001:db8::1/64' | ipaddr('address')`, `'2001:db8::1' | ipwrap`, `'2001:db8::1' | ipv4 | string`,
	`'10.0.0.1' | ipv4('address')`, `'not an ip' | ipaddr | string`, `'' | ipaddr | string`,
	`(['10.0.0.1', 'x', '192.168.1.5/24', 'fe80::1'] | ipaddr('address')) | join(',')`,
	`(['10.0.0.1', 'fe80::1'] | ipv6) | join(',')`, `(['10.0.0.1', 'x'] | ipaddr('bool')) | length`,
	`'yes' if ('10.0.0.1' | ipaddr('bool')) else 'no'`, `'yes' if ('10.0.0.300' | ipaddr('bool')) else 'no'`,
	`'yes' if ('10.0.0.1' | ansible.utils.ipaddr('private')) else 'no'`, `'10.0.0.1/24' | ansible.utils.ipv4('network')`,
}

func TestIPFiltersMatchAnsible(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import netaddr").Run(); err != nil {
		t.Skip("Python's netaddr not installed (make test-deps installs it)")
	}
	var play strings.Builder
	play.WriteString("- hosts: localhost\n  gather_facts: false\n  tasks:\n")
	for _, e := range ipFilters {
		play.WriteString("    - debug: {msg: \"<<{{ " + strings.ReplaceAll(e, `"`, `\"`) + " }}>>\"}\n")
	}
	dir := srcDir(t)
	writeFile(t, dir, "ip.yaml", play.String())
	aout, rout := bothPlay(t, dir, "ip.yaml")
	a, r := marked(aout), marked(rout)
	if len(a) != len(ipFilters) || len(r) != len(ipFilters) {
		t.Fatalf("values: Ansible %q, runbook %q\n%s\n%s", a, r, aout, rout)
	}
	for i, e := range ipFilters {
		if a[i] != r[i] {
			t.Errorf("%s: Ansible %q, runbook %q", e, a[i], r[i])
		}
	}
}

// {% include %} in a template, as roles split their config files: inside a
// loop (the included text sees the loop's variable), from a sub-folder of
// templates/ naming a sibling by its path under templates/, and with
// ignore missing. The files Ansible and runbook write are the same.
func TestTemplateIncludeMatchesAnsible(t *testing.T) {
	dir := srcDir(t)
	os.MkdirAll(filepath.Join(dir, "templates", "parts"), 0o755)
	writeFile(t, dir, "templates/inc.j2", "included {{ x }}\n")
	writeFile(t, dir, "templates/parts/p.j2", "part {{ x }}{% include 'parts/deeper.j2' %}\n")
	writeFile(t, dir, "templates/parts/deeper.j2", " deeper {{ name }}\n")
	writeFile(t, dir, "templates/main.j2", "{% for x in ['a', 'b'] %}\n{% include 'inc.j2' %}\n{% endfor %}\n{% include 'parts/p.j2' %}\n{% include 'nope.j2' ignore missing %}\nend {{ name }}\n")
	out := t.TempDir()
	// Ansible gets WHO=a in its environment, runbook (in this process) none
	writeFile(t, dir, "p.yaml", "- hosts: localhost\n  gather_facts: false\n  vars: {x: X, name: n1}\n  tasks:\n    - template: {src: main.j2, dest: \""+out+"/{{ lookup('env', 'WHO') | default('r', true) }}.txt\"}\n")
	bothPlay(t, dir, "p.yaml", "WHO=a")
	a, _ := os.ReadFile(filepath.Join(out, "a.txt"))
	r, _ := os.ReadFile(filepath.Join(out, "r.txt"))
	if len(a) == 0 || string(a) != string(r) {
		t.Errorf("Ansible rendered %q, runbook %q", a, r)
	}
}

// {% macro %} as config templates use it: defaults, a keyword argument, a
// filter on the call, a macro calling another inside a loop, and the
// template's variables read inside. The files are the same.
func TestTemplateMacroMatchesAnsible(t *testing.T) {
	dir := srcDir(t)
	os.MkdirAll(filepath.Join(dir, "templates"), 0o755)
	writeFile(t, dir, "templates/m.j2", `{% macro line(k, v, sep=' = ') -%}
{{ k }}{{ sep }}{{ v }}{% if x is defined %} ({{ x }}){% endif %}
{%- endmacro %}
{% macro block(items) %}
{% for i in items %}
  {{ line(i, loop.index, sep=': ') }}
{% endfor %}
{% endmacro %}
{{ line('a', 1) }}
{{ line('b', 2) | upper }}
{{ block(['p', 'q']) }}
end
`)
	out := t.TempDir()
	writeFile(t, dir, "p.yaml", "- hosts: localhost\n  gather_facts: false\n  vars: {x: X}\n  tasks:\n    - template: {src: m.j2, dest: \""+out+"/{{ lookup('env', 'WHO') | default('r', true) }}.txt\"}\n")
	bothPlay(t, dir, "p.yaml", "WHO=a")
	a, _ := os.ReadFile(filepath.Join(out, "a.txt"))
	r, _ := os.ReadFile(filepath.Join(out, "r.txt"))
	if len(a) == 0 || string(a) != string(r) {
		t.Errorf("Ansible rendered %q, runbook %q", a, r)
	}
}

// An include_role whose role does not load (a Galaxy dependency not
// installed) passes --syntax-check with a warning, as ansible-playbook's
// does (it never loads a dynamic include); a run refuses it before any
// host, since it would fail on every host that reaches it.
func TestDynamicIncludeSyntaxCheckMatchesAnsible(t *testing.T) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("ansible-playbook not installed (make test-deps installs it)")
	}
	dir := srcDir(t)
	os.MkdirAll(filepath.Join(dir, "roles", "app", "meta"), 0o755)
	os.MkdirAll(filepath.Join(dir, "roles", "app", "tasks"), 0o755)
	writeFile(t, dir, "roles/app/meta/main.yml", "dependencies:\n  - role: someone.not_installed\n")
	writeFile(t, dir, "roles/app/tasks/main.yml", "- debug: {msg: app}\n")
	pb := writeFile(t, dir, "p.yaml", "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - include_role: {name: app}\n")
	if out, err := exec.Command("ansible-playbook", "--syntax-check", "-i", "localhost,", pb).CombinedOutput(); err != nil {
		t.Fatalf("ansible-playbook --syntax-check: %v\n%s", err, out)
	}
	r := runMain(t, "", "play", pb, "--syntax-check")
	if r.code != 0 || !strings.Contains(r.stderr, "someone.not_installed") {
		t.Errorf("--syntax-check: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runMain(t, "", "play", pb, "-i", "localhost,")
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "someone.not_installed") || strings.Contains(r.stdout, "TASK [") {
		t.Errorf("a run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// The sequence lookup and with_sequence, as Ansible gives them: key=value
// words, the short form with a format, hexadecimal, count, wantlist.
func TestSequenceMatchesAnsible(t *testing.T) {
	dir := srcDir(t)
	writeFile(t, dir, "sq.yaml", `- hosts: localhost
  gather_facts: false
  tasks:
    - debug: {msg: "<<{{ query('sequence', 'start=1 end=3') | join(',') }}|{{ lookup('sequence', '2-10/4:h%02d') }}|{{ lookup('sequence', 'count=3 start=5', wantlist=True) | length }}|{{ query('sequence', 'start=0x0a end=0x0c format=%x') | join(' ') }}|{{ lookup('sequence', start=0, end=4) }}>>"}
    - debug: {msg: "<<{{ item }}>>"}
      with_sequence: start=4 end=8 stride=2 format=w%03d
`)
	aout, rout := bothPlay(t, dir, "sq.yaml")
	a, r := marked(aout), marked(rout)
	if len(a) != 4 || strings.Join(a, " ") != strings.Join(r, " ") {
		t.Errorf("Ansible %q, runbook %q", a, r)
	}
}

// map('extract', ...) (hostvars lookups), dict(k=v), regex_findall with
// and without groups, map('join', sep): values as Ansible gives them.
func TestListFiltersMatchAnsible(t *testing.T) {
	dir := srcDir(t)
	writeFile(t, dir, "lf.yaml", `- hosts: localhost
  gather_facts: false
  vars:
    l: [3, 1, 2]
    users: [{name: x, groups: [g1, g2]}, {name: y, groups: [g3]}]
    hv: {h1: {ansible_host: 10.0.0.1, n: {p: 1}}, h2: {ansible_host: 10.0.0.2, n: {p: 2}}}
  tasks:
    - debug: {msg: "<<{{ ['a','b'] | map('extract', {'a': 1, 'b': 2}) | list | join(',') }}|{{ ['h2','h1'] | map('extract', hv, 'ansible_host') | join(' ') }}|{{ [1, 0] | map('extract', ['p', 'q']) | join('') }}>>"}
    - debug: {msg: "<<{{ dict(a=1, b=2) | dict2items | map(attribute='key') | join(',') }}|{{ dict(z='y') | to_json }}>>"}
    - debug: {msg: "<<{{ 'Hello' | regex_findall('l') | length }}|{{ 'a1b22c333' | regex_findall('[0-9]+') | join(',') }}|{{ 'k1=v1 k2=v2' | regex_findall('(\\w+)=(\\w+)') | map('join', ':') | join(',') }}|{{ 'x9y8' | regex_findall('[a-z]([0-9])') | join('') }}>>"}
    - debug: {msg: "<<{{ users | map(attribute='name') | zip(l) | map('join', '=') | join(',') }}|{{ [['a','b'],['c']] | map('join') | join(',') }}>>"}
`)
	aout, rout := bothPlay(t, dir, "lf.yaml")
	// (Ansible's debug shows the message as JSON: its quotes escaped)
	a, r := marked(strings.ReplaceAll(aout, `\"`, `"`)), marked(rout)
	if len(a) != 4 || strings.Join(a, " ") != strings.Join(r, " ") {
		t.Errorf("Ansible %q\nrunbook %q", a, r)
	}
}

// markedValue is a value a test prints between << and >>.
var markedValue = regexp.MustCompile(`<<([^>]*)>>`)

// marked are the values a play's output prints between << and >>, in order.
func marked(out string) []string {
	var l []string
	for _, m := range markedValue.FindAllStringSubmatch(out, -1) {
		l = append(l, m[1])
	}
	return l
}

package cli

import (
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

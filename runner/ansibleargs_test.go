package runner_test

import (
	"encoding/json"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/runbook-lab/runbook/internal/diag"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/runner"
)

// Every argument Ansible documents for a module runbook has is accepted
// when a playbook is loaded: implemented, or taken and (unless it is the
// documented default) refused when the task runs, never "unknown".
func TestEveryDocumentedArgumentLoads(t *testing.T) {
	c := runner.Catalog{Reg: modules.Default}
	src := &diag.Source{Name: "t.yml"}
	checked := 0
	for _, mod := range modules.AnsibleModuleNames() {
		if _, ok := modules.Default.Lookup(mod); !ok {
			continue
		}
		for arg, spec := range modules.AnsibleArgs(mod) {
			var n yaml.Node
			val := spec.Default
			if val == nil {
				val = "{{ x }}" // a value checked at run time, the way roles pass most
			}
			b, _ := yaml.Marshal(map[string]any{arg: val})
			yaml.Unmarshal(b, &n)
			err := c.ValidateArgs(src, mod, n.Content[0])
			if err != nil && strings.Contains(err.Error(), "unknown argument") {
				t.Errorf("%s: %s: %v", mod, arg, err)
			}
			checked++
		}
	}
	if checked < 500 {
		t.Errorf("only %d arguments checked", checked)
	}
}

// The table is Ansible's own: the installed ansible-doc documents the same
// arguments (scripts/ansible-args.sh regenerates it).
func TestArgumentTableMatchesAnsibleDoc(t *testing.T) {
	bin, err := exec.LookPath("ansible-doc")
	if err != nil {
		t.Skip("ansible-doc missing (make test installs ansible-core)")
	}
	mods := []string{"copy", "lineinfile", "uri", "apt", "systemd", "user"}
	args := []string{"--json", "-t", "module"}
	for _, m := range mods {
		args = append(args, "ansible.builtin."+m)
	}
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]struct {
		Doc struct {
			Options map[string]any `json:"options"`
		} `json:"doc"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	for _, m := range mods {
		var want, got []string
		for k := range doc["ansible.builtin."+m].Doc.Options {
			want = append(want, k)
		}
		for k, s := range modules.AnsibleArgs(m) {
			if s.AliasOf == "" {
				got = append(got, k)
			}
		}
		sort.Strings(want)
		sort.Strings(got)
		if strings.Join(want, " ") != strings.Join(got, " ") {
			t.Errorf("%s: ansible-doc %v, the table %v", m, want, got)
		}
	}
}

// An alias Ansible documents is the argument it stands for (bertvv's samba
// role: apt: {update-cache: true}, once "name is required").
func TestDocumentedAliasesAreTheirArguments(t *testing.T) {
	c := runner.Catalog{Reg: modules.Default}
	src := &diag.Source{Name: "t.yml"}
	for _, text := range []string{"{update-cache: true}", "{name: curl, install-recommends: false}", "{pkg: curl, default-release: stable}"} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(text), &n); err != nil {
			t.Fatal(err)
		}
		if err := c.ValidateArgs(src, "apt", n.Content[0]); err != nil {
			t.Errorf("apt %s: %v", text, err)
		}
	}
}

package all_test

import (
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	_ "github.com/runbook-lab/runbook/modules/all"

	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/modules/builtin"
)

// Every registered module has docs and an example, and its arguments carry
// doc tags, so `runbook doc` is complete.
func TestEveryModuleIsDocumented(t *testing.T) {
	for _, id := range modules.Default.IDs() {
		info, _ := modules.Default.Lookup(id)
		if info.Summary == "" || info.Example == "" {
			t.Errorf("%s: missing summary or example", id)
		}
		v := reflect.ValueOf(info.New())
		if v.Kind() != reflect.Pointer {
			t.Errorf("%s: New must return a pointer", id)
			continue
		}
		if v.Elem().Kind() != reflect.Struct {
			continue
		}
		var check func(reflect.Type)
		check = func(ty reflect.Type) {
			for i := 0; i < ty.NumField(); i++ {
				f := ty.Field(i)
				if strings.HasSuffix(f.Tag.Get("yaml"), ",inline") {
					check(f.Type)
					continue
				}
				if f.IsExported() && f.Tag.Get("yaml") != "" && f.Tag.Get("doc") == "" {
					t.Errorf("%s: argument %s has no doc tag", id, f.Tag.Get("yaml"))
				}
			}
		}
		check(v.Elem().Type())
	}
}

func TestRegistryRejectsDuplicates(t *testing.T) {
	r := modules.NewRegistry()
	r.Register(modules.Info{ID: "x", New: func() modules.Module { return &builtin.Ping{} }})
	defer func() {
		if recover() == nil {
			t.Error("duplicate registration did not panic")
		}
	}()
	r.Register(modules.Info{ID: "x", New: func() modules.Module { return &builtin.Ping{} }})
}

// The README's module tables name every registered module, so the page a
// user reads first cannot fall behind the code.
func TestReadmeNamesEveryModule(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Skip("no README.md")
	}
	readme := string(b)
	for _, id := range modules.Default.IDs() {
		if !strings.Contains(readme, "`"+id+"`") {
			t.Errorf("README.md does not mention module `%s` (add it to a module table)", id)
		}
	}
}

// Every module ansible-doc lists as ansible.builtin is one runbook has
// (under its own name or Ansible's), except the keywords the loader takes
// (include, import_playbook, include_tasks, import_tasks, include_role,
// import_role): the oracle is the Ansible installed here.
func TestEveryAnsibleBuiltinModule(t *testing.T) {
	out, err := exec.Command("ansible-doc", "-t", "module", "-l").Output()
	if err != nil {
		t.Skip("ansible-doc not installed (make test-deps installs it)")
	}
	keywords := map[string]bool{"include": true, "import_playbook": true, "include_tasks": true, "import_tasks": true, "include_role": true, "import_role": true}
	n := 0
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || !strings.HasPrefix(f[0], "ansible.builtin.") {
			continue
		}
		n++
		short := strings.TrimPrefix(f[0], "ansible.builtin.")
		if _, ok := modules.Default.Lookup(f[0]); !ok && !keywords[short] {
			t.Errorf("ansible.builtin.%s: runbook has no such module", short)
		}
	}
	if n < 60 {
		t.Errorf("ansible-doc listed only %d builtin modules", n)
	}
}

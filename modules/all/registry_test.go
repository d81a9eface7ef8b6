package all_test

import (
	"os"
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

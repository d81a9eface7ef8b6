package inventory

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/runbook-lab/runbook/internal/diag"
)

func seedInventories(f *testing.F) {
	files, _ := filepath.Glob("../internal/cli/testdata/malformed/inv_*.txtar")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("all:\n  hosts:\n    a: {ansible_port: 22}\n  children:\n    db:\n      hosts: {b: }\n      vars: {x: 1}\n"))
	f.Add([]byte("[web]\na ansible_host=1.2.3.4 x='y z' # c\n[db:children]\nweb\n[db:vars]\nk=v\n"))
}

// Both inventory parsers load or refuse any input, never panic; what they
// load answers pattern selection without panicking either.
func FuzzInventoryYAML(f *testing.F) {
	seedInventories(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		inv, err := Parse(&diag.Source{Name: "inv.yaml", Text: b}, "")
		if err == nil {
			inv.Select("all:!web:&db")
			inv.HostGroups("a")
		}
	})
}

func FuzzInventoryINI(f *testing.F) {
	seedInventories(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		inv, err := Parse(&diag.Source{Name: "hosts", Text: b}, "")
		if err == nil {
			inv.Select("all:!web:&db")
			inv.HostGroups("a")
		}
	})
}

package design_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rank is each package's layer: a package imports only packages of a
// lower layer (no import upward, none sideways between the big rooms).
var rank = map[string]int{
	"hostexec": 0, "internal/design": 0, "internal/diag": 0, "internal/shellwords": 0, "internal/inputfile": 0, "internal/safefile": 0,
	"internal/profile": 1, "internal/history": 0, "internal/vault": 0, "internal/looseversion": 0, "internal/pyre": 0, "internal/truth": 0, "internal/pyvalue": 0, "internal/pyansible": 0, "internal/listops": 0, "internal/testrig/testenv": 0, "internal/testrig": 0,
	// helpers built on the leaves
	"internal/jinjatest": 1,
	"internal/cond":      2, "templates": 2, "inventory": 2, "transport": 2,
	"playbooks": 3, "modules": 3, "convert": 3,
	// module domains: none imports another
	"modules/builtin": 4, "modules/pg": 4, "modules/virt": 4,
	"modules/all": 5,
	"runner":      6, "internal/testrig/sshtest": 6, "internal/testrig/pgtest": 6,
	"output": 7, "internal/testrig/testlab": 7, "lab": 7,
	"internal/cli": 8, "internal/testrig/testlab/cmd/testlab": 8,
	"cmd/runbook": 9, "bench": 9, "bench/floor": 9,
}

// never are edges the layers would allow that the design forbids: the
// engine does not choose the modules a binary carries (cmd/runbook does),
// nor reach into a module domain.
var never = map[string][]string{
	"runner": {"modules/all", "modules/builtin", "modules/pg", "modules/virt"},
	// the CLI reaches hosts and libvirt through the engine and the lab
	"internal/cli": {"modules/virt", "transport", "modules/builtin", "modules/pg"},
}

// The import graph has no upward edge (go list, non-test imports).
func TestNoImportUpward(t *testing.T) {
	const mod = "github.com/runbook-lab/runbook/"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, mod+"...").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(f[0], mod)
		r, ok := rank[pkg]
		if !ok {
			t.Errorf("package %s has no layer in this test: give it one", pkg)
			continue
		}
		for _, imp := range f[1:] {
			if !strings.HasPrefix(imp, mod) {
				continue
			}
			dep := strings.TrimPrefix(imp, mod)
			for _, banned := range never[pkg] {
				if dep == banned {
					t.Errorf("%s imports %s, which the design forbids", pkg, dep)
				}
			}
			if rank[dep] >= r {
				t.Errorf("%s (layer %d) imports %s (layer %d): an upward or sideways edge", pkg, r, dep, rank[dep])
			}
		}
	}
}

// Only the binary calls the CLI's entry point: a command that needs another
// playbook run (the chaos campaign) goes to the runner, not through Main
// and its printed text.
func TestOnlyTheBinaryCallsMain(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == "cmd" || strings.HasPrefix(d.Name(), ".") && rel != "." || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			switch fn := call.Fun.(type) {
			case *ast.Ident:
				if fn.Name == "Main" && f.Name.Name == "cli" {
					t.Errorf("%s calls Main", rel)
				}
			case *ast.SelectorExpr:
				if x, ok := fn.X.(*ast.Ident); ok && x.Name == "cli" && fn.Sel.Name == "Main" {
					t.Errorf("%s calls cli.Main", rel)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Every module lives in a file named after it (a variant such as yum, the
// same code as dnf, is registered beside the module it varies), so adding
// a module is one file plus its test.
func TestOneFilePerModule(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "modules", "*", "*.go"))
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		base := strings.TrimSuffix(filepath.Base(path), ".go")
		var ids []string
		ast.Inspect(f, func(n ast.Node) bool {
			kv, ok := n.(*ast.KeyValueExpr)
			if !ok {
				return true
			}
			if k, isIdent := kv.Key.(*ast.Ident); isIdent && k.Name == "ID" {
				if lit, ok := kv.Value.(*ast.BasicLit); ok {
					ids = append(ids, strings.Trim(lit.Value, `"`))
				}
			}
			return true
		})
		if len(ids) > 0 && !slices.Contains(ids, base) {
			t.Errorf("%s registers %v: a module's file is named after it", path, ids)
		}
		if len(ids) > 2 {
			t.Errorf("%s registers %v: one module (and a variant) per file", path, ids)
		}
	}
}

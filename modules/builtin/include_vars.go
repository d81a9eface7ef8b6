package builtin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/runbook-lab/runbook/internal/diag"
	"github.com/runbook-lab/runbook/internal/inputfile"
	"github.com/runbook-lab/runbook/modules"
)

// IncludeVars loads variables from a YAML (or JSON) file on the machine
// running runbook, as Ansible's include_vars.
type IncludeVars struct {
	File       string             `yaml:"file" doc:"the file (found in the role's vars/, then next to the task's file)"`
	Dir        string             `yaml:"dir" doc:"load every .yml, .yaml and .json file of this folder, in name order"`
	Name       string             `yaml:"name" doc:"put the variables under this one name instead of at the top"`
	Extensions modules.StringList `yaml:"extensions" doc:"file extensions dir loads" default:"yaml,yml,json"`
	Depth      int                `yaml:"depth" doc:"dir: how deep to look (0: all the way)"`
	Matching   string             `yaml:"files_matching" doc:"dir: only file names matching this regular expression"`
	IgnoreUnk  bool               `yaml:"ignore_unknown_extensions" doc:"dir: skip files with other extensions instead of failing"`
}

func init() {
	modules.Register(modules.Info{ID: "include_vars", Summary: "Load variables from a YAML or JSON file (or a folder of them) on the machine running runbook.",
		Example: "include_vars: vars/{{ .ansible_os_family }}.yml", New: func() modules.Module { return &IncludeVars{} }})
}

// FreeFormArg: `include_vars: file.yml`.
func (*IncludeVars) FreeFormArg() string { return "file" }

// ControllerOnly: it reads files here, not on the host.
func (*IncludeVars) ControllerOnly() {}

// Validate checks the arguments.
func (v *IncludeVars) Validate() error {
	if (v.File == "") == (v.Dir == "") {
		return errors.New("include_vars: give file or dir")
	}
	if _, err := regexp.Compile(v.Matching); err != nil {
		return fmt.Errorf("include_vars: files_matching: %v", err)
	}
	return nil
}

// Run reads the file(s) and sets the variables.
func (v *IncludeVars) Run(_ context.Context, env *modules.Env) (*modules.Result, error) {
	var files []string
	if v.File != "" {
		files = []string{modules.FindLocal(env, v.File, "vars")}
	} else {
		dir := modules.FindLocal(env, v.Dir, "vars")
		exts := map[string]bool{}
		for _, e := range v.Extensions {
			for _, x := range strings.Split(e, ",") {
				exts["."+strings.TrimPrefix(strings.TrimSpace(x), ".")] = true
			}
		}
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			depth := strings.Count(strings.TrimPrefix(p, dir), string(filepath.Separator))
			if d.IsDir() {
				if v.Depth > 0 && depth >= v.Depth {
					return filepath.SkipDir
				}
				return nil
			}
			if v.Matching != "" && !regexp.MustCompile(v.Matching).MatchString(d.Name()) {
				return nil
			}
			if !exts[filepath.Ext(p)] {
				if v.IgnoreUnk {
					return nil
				}
				return fmt.Errorf("%s: not one of the extensions %v", p, []string(v.Extensions))
			}
			files = append(files, p)
			return nil
		})
		if err != nil {
			return modules.Failf("include_vars: %v", err), nil
		}
		sort.Strings(files)
	}
	vars := map[string]any{}
	for _, f := range files {
		b, err := inputfile.Read(f)
		if err != nil {
			return modules.Failf("include_vars: %v", err), nil
		}
		var m map[string]any
		doc, err := diag.ParseYAML(&diag.Source{Name: f, Text: b})
		if err == nil && len(doc.Content) > 0 {
			err = doc.Content[0].Decode(&m)
		}
		if err != nil {
			return modules.Failf("include_vars: %s: %v", f, err), nil
		}
		for k, x := range m {
			vars[k] = x
		}
	}
	facts := vars
	if v.Name != "" {
		facts = map[string]any{v.Name: vars}
	}
	return &modules.Result{Facts: facts, Data: map[string]any{"ansible_included_var_files": modules.AnyList(files), "ansible_facts": facts}}, nil
}

var (
	_ modules.ControllerOnly = (*IncludeVars)(nil)
	_ modules.FreeForm       = (*IncludeVars)(nil)
)

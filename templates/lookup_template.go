package templates

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// registered here, not in the function map's literal: rendering a
// looked-up template goes through that map
func init() {
	funcs["lookupTemplate"] = lookupTemplate
	funcs["lookupTemplateConfined"] = lookupTemplateConfined
}

// lookupTemplateDepth is the variable a nested lookup('template') counts
// its depth in: a template that looks itself up ends with an error, not a
// stack overflow.
const lookupTemplateDepth = "__runbook_lookup_template_depth"

// lookupTemplate is Ansible's lookup('template', name): a template file on
// this machine (a role's or the playbook's templates/ folder first, then
// the folder itself), rendered with the task's variables. The file is the
// author's code, as a template task's src is; what it renders to is data.
func lookupTemplate(name string, vars map[string]any, dirs ...string) (string, error) {
	return lookupTemplateIn(name, vars, false, dirs)
}

// lookupTemplateConfined is lookupTemplate for a computed name: only a
// file under the role's or playbook's folder.
func lookupTemplateConfined(name string, vars map[string]any, dirs ...string) (string, error) {
	return lookupTemplateIn(name, vars, true, dirs)
}

func lookupTemplateIn(name string, vars map[string]any, confined bool, dirs []string) (string, error) {
	depth, _ := vars[lookupTemplateDepth].(int)
	if depth >= 8 {
		return "", fmt.Errorf("lookup template %s: nested more than 8 deep (a template that looks itself up?)", name)
	}
	var roots, candidates []string
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if r, err := filepath.EvalSymlinks(d); err == nil {
			roots = append(roots, r)
		}
		if !filepath.IsAbs(name) {
			candidates = append(candidates, filepath.Join(d, "templates", name), filepath.Join(d, name))
		}
	}
	if filepath.IsAbs(name) {
		candidates = []string{name}
	} else if !confined {
		candidates = append(candidates, name)
	}
	for _, c := range candidates {
		real, err := filepath.EvalSymlinks(c)
		if err != nil {
			continue
		}
		if st, err := os.Stat(real); err != nil || st.IsDir() {
			continue
		}
		if confined && !under(real, roots) {
			return "", fmt.Errorf("lookup template %q: a computed name is read only under the playbook's or role's folder (write it literally to read another file)", name)
		}
		b, err := readRegular(real, maxLookup)
		if err != nil {
			return "", fmt.Errorf("lookup template %s: %w", c, err)
		}
		nested := make(map[string]any, len(vars)+1)
		for k, v := range vars {
			nested[k] = v
		}
		nested[lookupTemplateDepth] = depth + 1
		return Render(c, string(b), nested)
	}
	return "", fmt.Errorf("lookup template: %s not found (looked in %s)", name, strings.Join(candidates, ", "))
}

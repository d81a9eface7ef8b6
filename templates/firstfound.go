package templates

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FirstFound is Ansible's first_found (the lookup, and with_first_found): the first file
// that exists of a list of names (a string, a list, or a mapping with
// `files`, `paths` and `skip`), each tried under every path, relative
// names looked for in the role's and then the playbook's folder and their
// vars/, files/, templates/ and tasks/ (Ansible picks one of those by the
// task's action; a role keeps each kind in its own). It returns the path
// found; none found is an error unless skip is true (then "").
func FirstFound(terms any, bases ...string) (string, error) {
	var files, paths []string
	skip := false
	add := func(to *[]string, v any) {
		switch x := v.(type) {
		case string:
			// Ansible splits a string of names on commas and semicolons
			for _, f := range strings.FieldsFunc(x, func(r rune) bool { return r == ',' || r == ';' }) {
				if f = strings.TrimSpace(f); f != "" {
					*to = append(*to, f)
				}
			}
		case []any:
			for _, e := range x {
				if s, ok := e.(string); ok && s != "" {
					*to = append(*to, s)
				}
			}
		}
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			add(&files, x["files"])
			add(&paths, x["paths"])
			if s, ok := x["skip"].(bool); ok {
				skip = s
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case string:
			add(&files, x)
		}
	}
	walk(terms)
	if len(paths) == 0 {
		paths = []string{""}
	}
	for _, f := range files {
		for _, p := range paths {
			name := f
			if p != "" && !filepath.IsAbs(f) {
				name = filepath.Join(p, f)
			}
			candidates := []string{name}
			if !filepath.IsAbs(name) {
				candidates = nil
				for _, b := range bases {
					if b == "" {
						continue
					}
					for _, sub := range []string{"", "vars", "files", "templates", "tasks"} {
						candidates = append(candidates, filepath.Join(b, sub, name))
					}
				}
			}
			for _, c := range candidates {
				if st, err := os.Stat(c); err == nil && st.Mode().IsRegular() {
					return c, nil
				}
			}
		}
	}
	if skip {
		return "", nil
	}
	return "", fmt.Errorf("first_found: none of %s was found", strings.Join(files, ", "))
}

// firstFound is FirstFound for templates: the folders come as variables
// (role_path, playbook_dir), absent ones as nil.
func firstFound(terms any, dirs ...any) (string, error) {
	var bases []string
	for _, d := range dirs {
		if s, ok := d.(string); ok {
			bases = append(bases, s)
		}
	}
	return FirstFound(terms, bases...)
}

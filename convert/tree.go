package convert

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/runbook-lab/runbook/internal/inputfile"
	"github.com/runbook-lab/runbook/internal/pyansible"
	"github.com/runbook-lab/runbook/internal/safefile"
)

// Report is what a conversion did.
type Report struct {
	root                    string // the output folder, resolved
	YAML, Templates, Copied int
	Playbooks               []string // converted files that are playbooks (lists of plays)
	Issues                  []Issue
}

// Tree converts every source (a file or a folder) into out, mirroring the
// tree: YAML files and .j2 templates converted, anything else copied.
//
// It writes only under out: never over a source (a destination that is a
// source, or an out inside a source folder, is refused before anything is
// written), never through a symbolic link planted in out.
func Tree(sources []string, out string, known func(string) bool) (*Report, error) {
	outAbs, err := absReal(out)
	if err != nil {
		return nil, err
	}
	r := &Report{root: outAbs}
	var bases []string
	for _, src := range sources {
		srcAbs, err := absReal(src)
		if err != nil {
			return nil, err
		}
		base := filepath.Join(outAbs, filepath.Base(srcAbs))
		if base == srcAbs || within(outAbs, srcAbs) {
			return nil, fmt.Errorf("convert: -o %s would write over %s (the output must be a folder outside the sources)", out, src)
		}
		bases = append(bases, base)
	}
	for i, src := range sources {
		info, err := os.Stat(src)
		if err != nil {
			return nil, err
		}
		base := bases[i]
		if !info.IsDir() {
			if err := r.file(src, base, src, known); err != nil {
				return nil, err
			}
			continue
		}
		err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(src, p)
			if d.IsDir() {
				if d.Name() == ".git" || d.Name() == ".github" {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			return r.file(p, filepath.Join(base, rel), filepath.Join(filepath.Base(filepath.Clean(src)), rel), known)
		})
		if err != nil {
			return nil, err
		}
	}
	sort.SliceStable(r.Issues, func(i, j int) bool {
		a, b := r.Issues[i], r.Issues[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return r, nil
}

// file converts (or copies) one file; shown is its name in the report.
func (r *Report) file(src, dst, shown string, known func(string) bool) error {
	data, err := inputfile.Read(src)
	if err != nil {
		return err
	}
	var out []byte
	var issues []Issue
	switch ext := strings.ToLower(filepath.Ext(src)); {
	case ext == ".yml" || ext == ".yaml":
		out, issues, err = YAML(shown, data, func(name string) bool {
			// a module runbook runs from its Python source, as Ansible
			// does (library/ beside the file, a collection), is known too
			if known(name) {
				return true
			}
			_, ok := pyansible.Find(name, pyansible.LibraryDirs(filepath.Dir(src)))
			return ok
		})
		if err != nil {
			// not YAML runbook can read: copied as it is, and said
			out, issues = data, []Issue{{File: shown, Line: 1, Col: 1, Msg: "not converted: " + err.Error()}}
		} else {
			r.YAML++
			if looksLikePlaybook(data) {
				r.Playbooks = append(r.Playbooks, dst)
			}
		}
	case ext == ".j2" || ext == ".jinja2" || ext == ".jinja":
		var text string
		text, issues = TemplateFile(inlineIncludes(string(data), src, 0))
		for i := range issues {
			issues[i].File = shown
		}
		out = []byte(text)
		r.Templates++
	default:
		out = data
		r.Copied++
	}
	r.Issues = append(r.Issues, issues...)
	if err := mkdirUnder(r.root, filepath.Dir(dst)); err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if st, err := os.Stat(src); err == nil {
		mode = st.Mode().Perm()
	}
	return safefile.WriteFile(dst, out, mode)
}

// absReal is a path made absolute, its symbolic links resolved as far as
// it exists (out may not exist yet).
func absReal(p string) (string, error) {
	a, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	rest := ""
	for cur := a; ; cur = filepath.Dir(cur) {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest), nil
		}
		if cur == filepath.Dir(cur) {
			return a, nil
		}
		rest = filepath.Join(filepath.Base(cur), rest)
	}
}

// within says whether p is dir or under it.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// mkdirUnder makes dir, a folder under root, one component at a time,
// refusing a symbolic link on the way: a link planted in the output would
// send the converted files (and the overwrite) anywhere.
func mkdirUnder(root, dir string) error {
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("convert: %s is outside the output folder %s", dir, root)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	cur := root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		if part == "." || part == "" {
			continue
		}
		cur = filepath.Join(cur, part)
		st, err := os.Lstat(cur)
		switch {
		case os.IsNotExist(err):
			if err := os.Mkdir(cur, 0o755); err != nil {
				return err
			}
		case err != nil:
			return err
		case st.Mode()&os.ModeSymlink != 0:
			return fmt.Errorf("convert: %s is a symbolic link; refusing to write through it", cur)
		case !st.IsDir():
			return fmt.Errorf("convert: %s is not a folder", cur)
		}
	}
	return nil
}

// looksLikePlaybook says a YAML text is a list of plays.
func looksLikePlaybook(data []byte) bool {
	for _, l := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "- hosts:") || strings.HasPrefix(t, "- import_playbook:") || strings.HasPrefix(t, "- ansible.builtin.import_playbook:") {
			return true
		}
		if strings.HasPrefix(t, "- name:") || strings.HasPrefix(t, "-  name:") {
			// a play named first: hosts follows in the same item
			continue
		}
	}
	return strings.Contains(string(data), "\n  hosts:") && strings.HasPrefix(strings.TrimSpace(strings.TrimPrefix(string(data), "---")), "-")
}

// Summary is the report's closing lines.
func (r *Report) Summary() string {
	return fmt.Sprintf("converted %d YAML files and %d templates, copied %d other files; %d constructs not converted",
		r.YAML, r.Templates, r.Copied, len(r.Issues))
}

// includeTag is Jinja's {% include 'name' %} with a literal name.
// The newline after the tag goes with it (Ansible renders with
// trim_blocks), and all whitespace after a -%}.
var includeTag = regexp.MustCompile(`\{%-?\s*include\s+(['"])([^'"{}]+)(['"])((?:\s+(?:ignore\s+missing|with\s+context|without\s+context))*)\s*(?:-%\}[ \t\r\n]*|%\}\n?)`)

// inlineIncludes puts each included template's own Jinja text where
// {% include %} names it, before the template is converted (the included
// text then sees the variables of the place it is included at, as Jinja
// renders it). The name is looked for beside the including file, then
// under the templates/ folder it is in, as Ansible's template search
// finds it; a name not found is left for the converter to report.
// (Positions reported after an inlined include count its lines.)
func inlineIncludes(text, file string, depth int) string {
	if depth > 10 || !strings.Contains(text, "include") {
		return text
	}
	return includeTag.ReplaceAllStringFunc(text, func(tag string) string {
		m := includeTag.FindStringSubmatch(tag)
		// Jinja's loader refuses a name that climbs out (..) or is absolute
		if m[1] != m[3] || strings.HasPrefix(m[2], "/") || slices.Contains(strings.Split(m[2], "/"), "..") {
			return tag
		}
		for _, dir := range templateDirs(filepath.Dir(file)) {
			p := filepath.Join(dir, filepath.FromSlash(m[2]))
			if b, err := inputfile.Read(p); err == nil {
				return inlineIncludes(strings.TrimSuffix(string(b), "\n"), p, depth+1)
			}
		}
		if strings.Contains(m[4], "missing") {
			return "" // ignore missing: nothing, as Jinja renders it
		}
		return tag
	})
}

// templateDirs are where an included template is looked for: the
// including file's folder, then the templates/ folder above it.
func templateDirs(dir string) []string {
	dirs := []string{dir}
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if filepath.Base(d) == "templates" {
			if d != dir {
				dirs = append(dirs, d)
			}
			break
		}
	}
	return dirs
}

package convert

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/runbook-lab/runbook/internal/inputfile"
)

// Report is what a conversion did.
type Report struct {
	YAML, Templates, Copied int
	Playbooks               []string // converted files that are playbooks (lists of plays)
	Issues                  []Issue
}

// Tree converts every source (a file or a folder) into out, mirroring the
// tree: YAML files and .j2 templates converted, anything else copied.
func Tree(sources []string, out string, known func(string) bool) (*Report, error) {
	r := &Report{}
	for _, src := range sources {
		info, err := os.Stat(src)
		if err != nil {
			return nil, err
		}
		base := filepath.Join(out, filepath.Base(filepath.Clean(src)))
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
		out, issues, err = YAML(shown, data, known)
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
		text, issues = TemplateFile(string(data))
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
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if st, err := os.Stat(src); err == nil {
		mode = st.Mode().Perm()
	}
	if err := os.WriteFile(dst+".tmp", out, mode); err != nil {
		return err
	}
	return os.Rename(dst+".tmp", dst)
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

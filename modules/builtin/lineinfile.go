package builtin

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/runbook-lab/runbook/internal/pyre"
	"github.com/runbook-lab/runbook/modules"
)

// LineInFile makes sure a line is in a file (replacing the last line that
// matches regexp), or that no line matches; Ansible's arguments.
type LineInFile struct {
	Path              string `yaml:"path" aliases:"dest,destfile,name" doc:"the file"`
	Line              string `yaml:"line" aliases:"value" doc:"the line wanted (state: present)"`
	Regexp            string `yaml:"regexp" aliases:"regex" doc:"lines to replace (present) or remove (absent)"`
	SearchString      string `yaml:"search_string" doc:"a literal string instead of regexp"`
	State             string `yaml:"state" doc:"present or absent" default:"present"`
	InsertAfter       string `yaml:"insertafter" doc:"when no line matches: insert after the last line matching this regexp, or EOF"`
	InsertBefore      string `yaml:"insertbefore" doc:"when no line matches: insert before the last line matching this regexp, or BOF"`
	FirstMatch        bool   `yaml:"firstmatch" doc:"use the first match of regexp/insertafter/insertbefore, not the last"`
	Backrefs          bool   `yaml:"backrefs" doc:"line may use \\1 groups of regexp; no match leaves the file alone"`
	Create            bool   `yaml:"create" doc:"create the file when missing"`
	modules.FileAttrs `yaml:",inline"`
}

func init() {
	modules.Register(modules.Info{ID: "lineinfile", Summary: "Ensure one line is present (or absent) in a text file.",
		Example: "lineinfile:\n  path: /etc/hosts\n  regexp: '\\spostgres1$'\n  line: 192.168.100.10 postgres1", New: func() modules.Module { return &LineInFile{State: "present"} }})
}

// Validate checks the arguments.
func (l *LineInFile) Validate() error {
	if l.Path == "" {
		return errors.New("lineinfile: path is required")
	}
	if l.State != "present" && l.State != "absent" {
		return fmt.Errorf("lineinfile: state must be present or absent, got %q", l.State)
	}
	if l.State == "present" && l.Line == "" && !l.Backrefs {
		return errors.New("lineinfile: line is required with state present")
	}
	if l.State == "absent" && l.Regexp == "" && l.Line == "" && l.SearchString == "" {
		return errors.New("lineinfile: state absent needs regexp, search_string or line")
	}
	if l.InsertAfter != "" && l.InsertBefore != "" {
		return errors.New("lineinfile: give insertafter or insertbefore, not both")
	}
	for _, re := range []string{l.Regexp, l.InsertAfter, l.InsertBefore} {
		if re == "EOF" || re == "BOF" {
			continue
		}
		if _, err := regexp.Compile(re); err != nil {
			return fmt.Errorf("lineinfile: %v", err)
		}
	}
	return nil
}

// Run edits the file.
func (l *LineInFile) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	st, err := modules.Stat(ctx, env.Host, l.Path, true)
	if err != nil {
		return nil, err
	}
	if !st.Exists && !l.Create {
		return modules.Failf("%s does not exist (set create: true)", l.Path), nil
	}
	text := l.Edit(string(st.Content))
	return modules.PutFile(ctx, env, l.Spec(l.Path, []byte(text)))
}

// EditLines is lineinfile's pure logic for the common case: line wanted
// (present) or gone (absent), lines matching re replaced or removed.
func EditLines(text, line, re string, present bool) string {
	l := &LineInFile{Line: line, Regexp: re, State: "absent"}
	if present {
		l.State = "present"
	}
	return l.Edit(text)
}

// Edit is lineinfile's logic, as Ansible's: with regexp (or search_string)
// the last matching line is replaced, or removed under state absent; with
// none matching, a line already there is left alone, else the line goes
// after insertafter's match (default: the end) or before insertbefore's.
func (l *LineInFile) Edit(text string) string {
	ls := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if text == "" {
		ls = nil
	}
	var rx *regexp.Regexp
	if l.Regexp != "" {
		rx = regexp.MustCompile(l.Regexp)
	}
	matches := func(s string) bool {
		switch {
		case rx != nil:
			return rx.MatchString(s)
		case l.SearchString != "":
			return strings.Contains(s, l.SearchString)
		}
		return s == l.Line
	}
	if l.State == "absent" {
		var out []string
		for _, s := range ls {
			if !matches(s) && !(l.Line != "" && s == l.Line) {
				out = append(out, s)
			}
		}
		return joinLines(out)
	}
	found := -1
	for i, s := range ls {
		if matches(s) {
			found = i
			if l.FirstMatch {
				break
			}
		}
	}
	if found >= 0 {
		line := l.Line
		if l.Backrefs && rx != nil {
			line = string(rx.ExpandString(nil, pythonBackrefs(l.Line), ls[found], rx.FindStringSubmatchIndex(ls[found])))
		}
		ls[found] = line
		return joinLines(ls)
	}
	if l.Backrefs {
		return text // Ansible: backrefs and no match change nothing
	}
	for _, s := range ls {
		if s == l.Line {
			return text
		}
	}
	at := len(ls) // EOF
	switch {
	case l.InsertBefore == "BOF":
		at = 0
	case l.InsertBefore != "":
		if i := lastMatch(ls, l.InsertBefore, l.FirstMatch); i >= 0 {
			at = i
		}
	case l.InsertAfter != "" && l.InsertAfter != "EOF":
		if i := lastMatch(ls, l.InsertAfter, l.FirstMatch); i >= 0 {
			at = i + 1
		}
	}
	ls = append(ls[:at], append([]string{l.Line}, ls[at:]...)...)
	return joinLines(ls)
}

func lastMatch(ls []string, re string, first bool) int {
	rx := regexp.MustCompile(re)
	found := -1
	for i, s := range ls {
		if rx.MatchString(s) {
			found = i
			if first {
				break
			}
		}
	}
	return found
}

// pythonBackrefs turns Python's \1 and \g<name> into Go's ${1}.
func pythonBackrefs(s string) string { return pyre.Backrefs(s) }

func joinLines(ls []string) string {
	if len(ls) == 0 {
		return ""
	}
	return strings.Join(ls, "\n") + "\n"
}

var _ modules.Validator = (*LineInFile)(nil)

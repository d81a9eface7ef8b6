package builtin

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// LineInFile makes sure a line is in a file (replacing the last line that
// matches regexp), or that no line matches.
type LineInFile struct {
	Path   string       `yaml:"path" doc:"the file"`
	Line   string       `yaml:"line" doc:"the line wanted (state: present)"`
	Regexp string       `yaml:"regexp" doc:"lines to replace (present) or remove (absent)"`
	State  string       `yaml:"state" doc:"present or absent" default:"present"`
	Create bool         `yaml:"create" doc:"create the file when missing"`
	Mode   modules.Mode `yaml:"mode" doc:"octal mode"`
	Owner  string       `yaml:"owner" doc:"owner"`
	Group  string       `yaml:"group" doc:"group"`
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
	if l.State == "present" && l.Line == "" {
		return errors.New("lineinfile: line is required with state present")
	}
	if l.State == "absent" && l.Regexp == "" && l.Line == "" {
		return errors.New("lineinfile: state absent needs regexp or line")
	}
	if _, err := regexp.Compile(l.Regexp); err != nil {
		return fmt.Errorf("lineinfile: regexp: %v", err)
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
	text := EditLines(string(st.Content), l.Line, l.Regexp, l.State == "present")
	return modules.PutFile(ctx, env, modules.FileSpec{Path: l.Path, Data: []byte(text), Mode: l.Mode, Owner: l.Owner, Group: l.Group})
}

// EditLines is lineinfile's pure logic.
func EditLines(text, line, re string, present bool) string {
	var rx *regexp.Regexp
	if re != "" {
		rx = regexp.MustCompile(re)
	}
	ls := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if text == "" {
		ls = nil
	}
	matches := func(s string) bool {
		if rx != nil {
			return rx.MatchString(s)
		}
		return s == line
	}
	if !present {
		var out []string
		for _, s := range ls {
			if !matches(s) {
				out = append(out, s)
			}
		}
		return joinLines(out)
	}
	last := -1
	for i, s := range ls {
		if matches(s) || s == line {
			last = i
		}
	}
	if last >= 0 {
		ls[last] = line
	} else {
		ls = append(ls, line)
	}
	return joinLines(ls)
}

func joinLines(ls []string) string {
	if len(ls) == 0 {
		return ""
	}
	return strings.Join(ls, "\n") + "\n"
}

var _ modules.Validator = (*LineInFile)(nil)

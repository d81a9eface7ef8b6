package builtin

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// IniFile is community.general's ini_file: one option (or several values
// of it) in a section of an INI file, or a section removed. The edit is
// Ansible's own algorithm line by line, so the same file comes out.
type IniFile struct {
	Path          string             `yaml:"path" aliases:"dest" required:"true" doc:"the INI file"`
	Section       string             `yaml:"section" doc:"the section (empty: before the first section)"`
	Option        string             `yaml:"option" doc:"the option (empty with state absent: the whole section)"`
	Value         *string            `yaml:"value" doc:"its value"`
	Values        modules.StringList `yaml:"values" doc:"several values of the option, one line each"`
	State         string             `yaml:"state" default:"present" doc:"present or absent"`
	Exclusive     *bool              `yaml:"exclusive" default:"true" doc:"remove other values of the option (present), or all of them (absent)"`
	NoExtraSpaces bool               `yaml:"no_extra_spaces" doc:"write option=value, not option = value"`
	AllowNoValue  bool               `yaml:"allow_no_value" doc:"an option without a value is allowed"`
	Create        *bool              `yaml:"create" default:"true" doc:"create the file when missing"`

	modules.FileAttrs `yaml:",inline"`
}

func init() {
	modules.Register(modules.Info{ID: "ini_file", Summary: "An option (or values) in a section of an INI file, or a section removed (community.general's ini_file, the same edits)",
		Example: "ini_file:\n  path: /etc/pgbouncer/pgbouncer.ini\n  section: pgbouncer\n  option: pool_mode\n  value: transaction",
		New:     func() modules.Module { return &IniFile{} }})
}

// Validate checks what Ansible checks.
func (m *IniFile) Validate() error {
	if m.State != "present" && m.State != "absent" {
		return fmt.Errorf("ini_file: state %q: expected present or absent", m.State)
	}
	if m.Value != nil && len(m.Values) > 0 {
		return fmt.Errorf("ini_file: value and values are mutually exclusive")
	}
	if m.State == "present" && !m.AllowNoValue && m.Value == nil && len(m.Values) == 0 {
		return fmt.Errorf("ini_file: parameter 'value(s)' must be defined if state=present and allow_no_value=False")
	}
	return nil
}

// optMatcher is Ansible's match_opt (commented: a leading # or ; is
// allowed) and match_active_opt: `[#;]? *option *(=|$) *value`. It returns
// the value, or ok false. Written out, not as a regexp, so that any option
// text (even invalid UTF-8) is taken literally.
func optMatcher(option string, commented bool) func(line string) (value string, ok bool) {
	blanks := func(s string) string { return strings.TrimLeft(s, " \t") }
	return func(line string) (string, bool) {
		if commented && line != "" && (line[0] == '#' || line[0] == ';') {
			line = line[1:]
		}
		rest, found := strings.CutPrefix(blanks(line), option)
		if !found {
			return "", false
		}
		rest = blanks(rest)
		if rest == "" {
			return "", true
		}
		if rest[0] != '=' {
			return "", false
		}
		return blanks(rest[1:]), true
	}
}

// iniEdit is Ansible's do_ini on the file's lines (each ending in "\n");
// it returns the new lines and whether they differ.
func (m *IniFile) iniEdit(lines []string) ([]string, bool) {
	var values []string
	if m.Value != nil {
		values = []string{*m.Value}
	}
	for _, v := range m.Values {
		dup := false
		for _, u := range values {
			dup = dup || u == v
		}
		if !dup {
			values = append(values, v)
		}
	}
	exclusive := m.Exclusive == nil || *m.Exclusive
	changed := false
	if len(lines) == 0 {
		lines = []string{"\n"}
	}
	if last := lines[len(lines)-1]; !strings.HasSuffix(last, "\n") {
		lines[len(lines)-1] += "\n"
		changed = true
	}
	const fake = "ad01e11446efb704fcdbdb21f2c43757423d91c5"
	lines = append(append([]string{"[" + fake + "]"}, lines...), "[")
	section := m.Section
	if section == "" {
		section = fake
	}
	within, start, end := false, 0, 0
	for i, l := range lines {
		if strings.HasPrefix(l, "["+section+"]") {
			within, start = true, i
		} else if strings.HasPrefix(l, "[") && within {
			end = i
			break
		}
	}
	assign := "%s = %s\n"
	if m.NoExtraSpaces {
		assign = "%s=%s\n"
	}
	before := append([]string(nil), lines[:start]...)
	sec := append([]string(nil), lines[start:end]...)
	after := append([]string(nil), lines[end:]...)
	touched := make([]bool, len(sec))
	opt, active := optMatcher(m.Option, true), optMatcher(m.Option, false)
	// match is the option's value on a line (without its newline), or nil
	match := func(f func(string) (string, bool), l string) []string {
		if v, ok := f(strings.TrimSuffix(l, "\n")); ok {
			return []string{"", "", "", v}
		}
		return nil
	}
	set := func(i int, nl string) {
		changed = changed || sec[i] != nl
		sec[i], touched[i] = nl, true
	}
	remove := func(vs []string, v string) []string {
		for i, x := range vs {
			if x == v {
				return append(vs[:i:i], vs[i+1:]...)
			}
		}
		return vs
	}
	noValuePresent := false
	if m.State == "present" && m.Option != "" {
		for i, l := range sec {
			g := match(opt, l)
			if g == nil {
				continue
			}
			in := false
			for _, v := range values {
				in = in || v == g[3]
			}
			if len(values) > 0 && in {
				if g[3] == "" && m.AllowNoValue {
					set(i, m.Option+"\n")
					noValuePresent = true
				} else {
					set(i, fmt.Sprintf(assign, m.Option, g[3]))
				}
				values = remove(values, g[3])
			} else if len(values) == 0 && m.AllowNoValue {
				set(i, m.Option+"\n")
				noValuePresent = true
				break
			}
		}
	}
	if m.State == "present" && exclusive && !m.AllowNoValue {
		if len(values) > 0 {
			for i, l := range sec {
				if !touched[i] && match(opt, l) != nil {
					set(i, fmt.Sprintf(assign, m.Option, values[0]))
					values = values[1:]
					if len(values) == 0 {
						break
					}
				}
			}
		}
		for i := len(sec) - 1; i > 0; i-- {
			if !touched[i] && match(opt, sec[i]) != nil {
				sec = append(sec[:i:i], sec[i+1:]...)
				touched = append(touched[:i:i], touched[i+1:]...)
				changed = true
			}
		}
	}
	blank := regexp.MustCompile(`^[ \t]*([#;].*)?$`)
	if m.State == "present" {
		for i := len(sec); i > 0; i-- {
			if blank.MatchString(strings.TrimSuffix(sec[i-1], "\n")) {
				continue
			}
			var add []string
			if m.Option != "" && len(values) > 0 {
				for _, v := range values {
					add = append(add, fmt.Sprintf(assign, m.Option, v))
				}
			} else if m.Option != "" && len(values) == 0 && m.AllowNoValue && !noValuePresent {
				add = []string{m.Option + "\n"}
			}
			if len(add) > 0 {
				sec = append(sec[:i:i], append(add, sec[i:]...)...)
				changed = true
			}
			break
		}
	}
	if m.State == "absent" {
		if m.Option != "" {
			var kept []string
			for _, l := range sec {
				g := match(active, l)
				drop := false
				if g != nil {
					if exclusive {
						drop = true
					} else if len(values) > 0 {
						for _, v := range values {
							drop = drop || v == g[3]
						}
					}
				}
				if !drop {
					kept = append(kept, l)
				}
			}
			if len(kept) != len(sec) {
				changed = true
			}
			sec = kept
		} else if len(sec) > 0 {
			sec, changed = nil, true
		}
	}
	out := append(append(before, sec...), after...)
	out = out[1 : len(out)-1]
	if !within && m.State == "present" {
		out = append(out, "["+section+"]\n")
		if m.Option != "" && len(values) > 0 {
			for _, v := range values {
				out = append(out, fmt.Sprintf(assign, m.Option, v))
			}
		} else if m.Option != "" && m.AllowNoValue {
			out = append(out, m.Option+"\n")
		}
		changed = true
	}
	return out, changed
}

// Run reads the file, edits it as Ansible would, and writes it back.
func (m *IniFile) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	st, err := modules.Stat(ctx, env.Host, m.Path, true)
	if err != nil {
		return nil, err
	}
	if !st.Exists && m.Create != nil && !*m.Create {
		return modules.Failf("Destination %s does not exist!", m.Path), nil
	}
	var lines []string
	for _, l := range strings.SplitAfter(strings.TrimPrefix(string(st.Content), "\ufeff"), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	out, changed := m.iniEdit(lines)
	data := []byte(strings.Join(out, ""))
	if !changed {
		data = st.Content // only attributes may change
	}
	if !st.Exists && !changed {
		return &modules.Result{Data: map[string]any{"path": m.Path}}, nil
	}
	put, err := modules.PutFile(ctx, env, m.Spec(m.Path, data))
	if err != nil || st.Exists {
		return put, err
	}
	res := &modules.Result{Changed: put.Changed, Diffs: put.Diffs, Data: put.Data}
	if dir := m.Path[:strings.LastIndex(m.Path, "/")+1]; dir != "" {
		res.Then(func(ctx context.Context) error {
			_, err := modules.RunOK(ctx, env.Host, "mkdir -p -- "+modules.Quote(dir), "ini_file")
			return err
		})
	}
	res.Then(put.Apply) // the folder first
	return res, nil
}

var _ modules.Validator = (*IniFile)(nil)

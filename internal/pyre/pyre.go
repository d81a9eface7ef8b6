// Package pyre carries Python's regular-expression replacement syntax
// (Ansible's regex_replace, lineinfile backrefs) over to Go's regexp.
package pyre

import (
	"regexp"
	"strings"
)

var group = regexp.MustCompile(`\\(\d+)|\\g<(\w+)>`)

// Backrefs turns Python's \1 and \g<name> into Go's ${1} and ${name};
// a literal $ stays literal.
func Backrefs(s string) string {
	s = strings.ReplaceAll(s, "$", "$$")
	return group.ReplaceAllStringFunc(s, func(m string) string {
		g := group.FindStringSubmatch(m)
		return "${" + g[1] + g[2] + "}"
	})
}

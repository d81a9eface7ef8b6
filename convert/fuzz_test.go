package convert_test

import (
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/convert"
	"github.com/runbook-lab/runbook/templates"
)

// Any text given to the template converter comes back converted or with
// its issues listed, never a panic; what it converts without an issue
// parses as a runbook template.
func FuzzConvertTemplate(f *testing.F) {
	for _, seed := range []string{
		"{% for x in l %}{{ loop.index }}{% endfor %}",
		"{% macro m(a, b='x') -%}{{ a }}{{ b }}{%- endmacro %}{{ m(1, b=2) | upper }}",
		"{% include 'x.j2' ignore missing %}",
		"{% if a %}{% set b = a | default(1) %}{% elif c %}{% else %}{% endif %}",
		"{{ '%s' | format(x) }} {{ l | batch(2) | list }} {{ l | zip(m) }} {{ ip | ansible.utils.ipaddr('address') }}",
		"{% raw %}{{ x }}{% endraw %}{# c #}{{ d.items() }}{{ s[1:2] }}",
		"{% macro m() %}{% macro n() %}{% endmacro %}{% endmacro %}{{ m() }}",
		"{{ m() }}{% endmacro %}{% macro %}",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 4096 {
			return
		}
		for _, file := range []bool{true, false} {
			var out string
			var issues []convert.Issue
			if file {
				out, issues = convert.TemplateFile(text)
			} else {
				out, issues = convert.Template(text)
			}
			if len(issues) == 0 && strings.Contains(text, "{") {
				if _, err := templates.Parse("fuzz", out); err != nil && !strings.Contains(err.Error(), "function") {
					t.Errorf("%q converted without an issue to %q, which does not parse: %v", text, out, err)
				}
			}
		}
	})
}

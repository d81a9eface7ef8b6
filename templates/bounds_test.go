package templates

import (
	"strings"
	"testing"
)

// Templates that would exhaust memory or spin fail with one clear error.
func TestTemplateBounds(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{`{{ repeat 2000000000 "x" }}`, "count 2000000000 out of range for repeat"},
		{`{{ repeat 1000000 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }}`, "output over 64 MiB"},
		{`{{ until 2000000000 }}`, "out of range for until"},
		{`{{ seq 2000000000 }}`, "out of range for seq"},
		{`{{ randAlpha 2000000000 }}`, "out of range for randAlpha"},
		{`{{ indent 2000000000 "x" }}`, "out of range for indent"},
		{`{{ range 2000000000 }}{{ end }}`, "range 2000000000: count out of range"},
		{`{{ define "a" }}{{ template "a" }}{{ end }}{{ template "a" }}`, "depth"},
	} {
		_, err := Render("t", c.text, map[string]any{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.text, err, c.want)
		}
	}
	if out, err := Render("t", `{{ repeat 3 "ab" }}{{ range 2 }}.{{ end }}`, map[string]any{}); err != nil || out != "ababab.." {
		t.Errorf("small counts: %q %v", out, err)
	}
}

package runner

import (
	"fmt"
	"strings"
	"testing"
)

func TestTagsSelected(t *testing.T) {
	cases := []struct {
		tags, only, skip []string
		want             bool
	}{
		{nil, nil, nil, true},
		{[]string{"a"}, []string{"a"}, nil, true},
		{[]string{"a"}, []string{"b"}, nil, false},
		{[]string{"always"}, []string{"b"}, nil, true},
		{[]string{"always"}, nil, []string{"always"}, false},
		{[]string{"never"}, nil, nil, false},
		{[]string{"never", "debug"}, []string{"debug"}, nil, true},
		{[]string{"a"}, nil, []string{"a"}, false},
		{nil, []string{"untagged"}, nil, true},
		{[]string{"x"}, []string{"tagged"}, nil, true},
	}
	for _, c := range cases {
		if got := TagsSelected(c.tags, c.only, c.skip); got != c.want {
			t.Errorf("TagsSelected(%v, %v, %v) = %v, want %v", c.tags, c.only, c.skip, got, c.want)
		}
	}
}

func TestComposeVarsPrecedence(t *testing.T) {
	play := map[string]any{"a": "play", "b": "play", "c": "play", "ref": "{{ .a }}-{{ .chain }}", "chain": "{{ .b }}"}
	host := map[string]any{"b": "host", "c": "host"}
	extra := map[string]any{"c": "extra"}
	v, _ := composeVarsLazy(nil, code(play), code(host), code(extra))
	if v["a"] != "play" || v["b"] != "host" || v["c"] != "extra" {
		t.Errorf("precedence: %v", v)
	}
	if v["ref"] != "play-host" {
		t.Errorf("nested reference rendered to %v", v["ref"])
	}
	// a variable that cannot be rendered is left out (an error only where
	// it is used, as in Ansible), and its reason is kept for that message
	v, broken := composeVarsLazy(nil, code(map[string]any{"x": "{{ .nope }}", "y": 1}))
	if _, ok := v["x"]; ok || v["y"] != 1 || broken["x"] == nil {
		t.Errorf("undefined reference: %v %v", v, broken)
	}
	if err := broken.explain(fmt.Errorf(`undefined variable "x"`)); !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("explain: %v", err)
	}
}

func TestUnifiedDiff(t *testing.T) {
	before := "a\nb\nc\nd\ne\nf\ng\nh\n"
	after := "a\nb\nc\nD\ne\nf\ng\nh\ni\n"
	got := UnifiedDiff("f", before, after)
	want := `--- f (before)
+++ f (after)
@@ -1,8 +1,9 @@
 a
 b
 c
-d
+D
 e
 f
 g
 h
+i
`
	if got != want {
		t.Errorf("diff:\n%s\nwant:\n%s", got, want)
	}
}

func TestRedactor(t *testing.T) {
	r := &redactor{}
	r.collect(map[string]any{"db_password": "s3cret!", "other": "visible"})
	if got := r.text("pw is s3cret! ok"); got != "pw is ******** ok" {
		t.Errorf("text: %q", got)
	}
	m := r.value(map[string]any{"stdout": "x s3cret! y", "replication_password": "abc123"}).(map[string]any)
	if strings.Contains(m["stdout"].(string), "s3cret") || m["replication_password"] != "********" {
		t.Errorf("value: %v", m)
	}
}

func TestSerialBatches(t *testing.T) {
	hosts := []string{"a", "b", "c", "d", "e"}
	if b := batches(hosts, 2); len(b) != 3 || len(b[2]) != 1 {
		t.Errorf("serial 2: %v", b)
	}
	if b := batches(hosts, max(1, len(hosts)*30/100)); len(b) != 5 {
		t.Errorf("serial 30%% of 5 (1 per batch): %v", b)
	}
}

package builtin_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/modules/builtin"
	"github.com/runbook-lab/runbook/transport"
)

func TestQuote(t *testing.T) {
	cases := map[string]string{"": "''", "abc": "abc", "a b": "'a b'", "it's": `'it'"'"'s'`, "/usr/bin/x-y_z.1": "/usr/bin/x-y_z.1", "$HOME": "'$HOME'"}
	for in, want := range cases {
		if got := modules.Quote(in); got != want {
			t.Errorf("Quote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitWords(t *testing.T) {
	got, err := builtin.SplitWords(`psql -c "select 1" -d 'a b' x\ y`)
	want := []string{"psql", "-c", "select 1", "-d", "a b", "x y"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %q %v", got, err)
	}
	if _, err := builtin.SplitWords(`echo "open`); err == nil {
		t.Error("unterminated quote accepted")
	}
}

func TestEditLines(t *testing.T) {
	cases := []struct {
		text, line, re string
		present        bool
		want           string
	}{
		{"a\nport = 1\nb\n", "port = 5432", `^port\s*=`, true, "a\nport = 5432\nb\n"},
		{"a\n", "port = 5432", `^port`, true, "a\nport = 5432\n"},
		{"", "x", "", true, "x\n"},
		{"a\nport = 1\nb\n", "", `^port`, false, "a\nb\n"},
		{"x\ny\n", "x", "", true, "x\ny\n"},
	}
	for _, c := range cases {
		if got := builtin.EditLines(c.text, c.line, c.re, c.present); got != c.want {
			t.Errorf("EditLines(%q, %q, %q) = %q, want %q", c.text, c.line, c.re, got, c.want)
		}
	}
}

func TestParseFacts(t *testing.T) {
	f := builtin.ParseFacts("os_id=debian\nos_version=12\ncpus=2\nipv4=10.0.0.2 10.1.0.2 \nsystemd=true\n")["facts"].(map[string]any)
	if f["os_id"] != "debian" || f["os_major"] != 12 || f["cpus"] != 2 || f["systemd"] != true || len(f["ipv4"].([]any)) != 2 {
		t.Errorf("facts %v", f)
	}
}

func env(t *testing.T, check bool) *modules.Env {
	return &modules.Env{Host: &transport.Local{HostName: "localhost"}, Check: check, Diff: true, Vars: map[string]any{"inventory_hostname": "localhost"}}
}

// The file modules on the real local filesystem: apply, re-apply without
// change, and check mode that touches nothing.
func TestFileModulesLocally(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dest := filepath.Join(dir, "sub", "f.conf")
	mkdir := &builtin.File{Path: filepath.Join(dir, "sub"), State: "directory", Mode: modules.Mode{Set: true, Perm: 0o750}}
	copyMod := &builtin.Copy{Dest: dest, Content: "port = 1\n", FileAttrs: modules.FileAttrs{Mode: modules.Mode{Set: true, Perm: 0o640}}}
	line := &builtin.LineInFile{Path: dest, Line: "port = 5432", Regexp: `^port`, State: "present"}
	for _, m := range []interface {
		Run(context.Context, *modules.Env) (*modules.Result, error)
	}{mkdir, copyMod, line} {
		// check mode first: reports a change, changes nothing
		before, _ := os.ReadFile(dest)
		r, err := modules.Execute(ctx, m, env(t, true))
		if err != nil || !r.Changed {
			t.Fatalf("%T check: changed=%v err=%v", m, r != nil && r.Changed, err)
		}
		after, _ := os.ReadFile(dest)
		if string(before) != string(after) {
			t.Fatalf("%T check mode changed the file", m)
		}
		r, err = modules.Execute(ctx, m, env(t, false))
		if err != nil || !r.Changed || r.Failed {
			t.Fatalf("%T apply: %+v %v", m, r, err)
		}
		r, err = modules.Execute(ctx, m, env(t, false))
		if err != nil || r.Changed {
			t.Fatalf("%T second run changed: %+v %v", m, r, err)
		}
	}
	b, _ := os.ReadFile(dest)
	if string(b) != "port = 5432\n" {
		t.Errorf("content %q", b)
	}
	st, _ := os.Stat(dest)
	if st.Mode().Perm() != 0o640 {
		t.Errorf("mode %o", st.Mode().Perm())
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "sub", ".runbook.*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
	rm := &builtin.File{Path: filepath.Join(dir, "sub"), State: "absent"}
	if r, err := modules.Execute(ctx, rm, env(t, false)); err != nil || !r.Changed {
		t.Fatalf("absent: %+v %v", r, err)
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Error("still there after state: absent")
	}
}

func TestCommandLocally(t *testing.T) {
	ctx := context.Background()
	r, err := modules.Execute(ctx, (&builtin.Command{Cmd: `sh -c "echo out; echo err >&2; exit 3"`}), env(t, false))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Failed || r.Data["rc"] != 3 || r.Data["stdout"] != "out" || r.Data["stderr"] != "err" {
		t.Errorf("result %+v", r)
	}
	// command does not interpret shell syntax
	r, _ = modules.Execute(ctx, (&builtin.Command{Cmd: `echo $HOME | x`}), env(t, false))
	if r.Data["stdout"] != "$HOME | x" {
		t.Errorf("command went through a shell: %q", r.Data["stdout"])
	}
	r, _ = modules.Execute(ctx, (&builtin.Shell{Cmd: `echo a | tr a b`}), env(t, false))
	if r.Data["stdout"] != "b" {
		t.Errorf("shell: %q", r.Data["stdout"])
	}
	r, _ = modules.Execute(ctx, (&builtin.Shell{Cmd: `touch /nonexistent/x`, Creates: "/"}), env(t, false))
	if r.Changed || r.Failed {
		t.Errorf("creates did not skip: %+v", r)
	}
	r, _ = modules.Execute(ctx, (&builtin.Shell{Cmd: `exit 1`}), env(t, true))
	if !r.Skipped {
		t.Errorf("command ran in check mode: %+v", r)
	}
}

func TestWaitForLocally(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w := &builtin.WaitFor{Path: filepath.Join(dir, "x"), State: "present", Timeout: 1, Sleep: 0.1}
	r, err := modules.Execute(ctx, w, env(t, false))
	if err != nil || !r.Failed || !strings.Contains(r.Msg, "timeout after 1s") {
		t.Fatalf("want a timeout: %+v %v", r, err)
	}
	os.WriteFile(filepath.Join(dir, "x"), nil, 0o600)
	if r, _ := modules.Execute(ctx, w, env(t, false)); r.Failed {
		t.Errorf("path exists but: %+v", r)
	}
}

package builtin_test

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runbook-lab/runbook/modules"
)

// A host's FIFO (planted by any local user where a task reads) is never
// read: reading one waits for a writer forever. Each module that reads a
// host file fails at once, naming what the path is; stat reports it
// without a checksum; wait_for's search times out as asked.
func TestHostFIFOsAreNeverRead(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	fails := []struct {
		id   string
		args map[string]any
	}{
		{"slurp", map[string]any{"src": fifo}},
		{"fetch", map[string]any{"src": fifo, "dest": filepath.Join(dir, "out") + "/"}},
		{"lineinfile", map[string]any{"path": fifo, "line": "x"}},
		{"replace", map[string]any{"path": fifo, "regexp": "a", "replace": "b"}},
		{"blockinfile", map[string]any{"path": fifo, "block": "x"}},
		{"ini_file", map[string]any{"path": fifo, "section": "s", "option": "o", "value": "v"}},
		{"copy", map[string]any{"content": "x", "dest": fifo}},
		{"copy", map[string]any{"src": fifo, "dest": filepath.Join(dir, "c"), "remote_src": true}},
		{"unarchive", map[string]any{"src": fifo, "dest": dir, "remote_src": true}},
	}
	for _, c := range fails {
		r, err := runWithin(t, c.id, c.args, 20*time.Second)
		if err == nil && (r == nil || !r.Failed) {
			t.Errorf("%s %v: read the FIFO without failing: %+v", c.id, c.args, r)
			continue
		}
		msg := ""
		if err != nil {
			msg = err.Error()
		} else {
			msg = r.Msg
		}
		if !strings.Contains(msg, "fifo, not a regular file") {
			t.Errorf("%s: %q does not say what the path is", c.id, msg)
		}
	}
	r, err := runWithin(t, "stat", map[string]any{"path": fifo}, 20*time.Second)
	if err != nil || r.Failed {
		t.Fatalf("stat of a FIFO: %v %+v", err, r)
	}
	st := r.Data["stat"].(map[string]any)
	if st["isfifo"] != true || st["checksum"] != nil {
		t.Errorf("stat of a FIFO: %v", st)
	}
	r, err = runWithin(t, "wait_for", map[string]any{"path": fifo, "search_regex": "x", "timeout": 2}, 20*time.Second)
	if err != nil || !r.Failed || !strings.Contains(r.Msg, "timeout") {
		t.Errorf("wait_for on a FIFO: %v %+v", err, r)
	}
}

// runWithin runs a module on the local host and fails the test if it does
// not return within limit (a module blocked on a FIFO).
func runWithin(t *testing.T, id string, args map[string]any, limit time.Duration) (*modules.Result, error) {
	t.Helper()
	info, _ := modules.Default.Lookup(id)
	m := info.New()
	if err := decodeInto(args, m); err != nil {
		t.Fatalf("%s %v: %v", id, args, err)
	}
	if v, ok := m.(modules.Validator); ok {
		if err := v.Validate(); err != nil {
			t.Fatalf("%s %v: %v", id, args, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	r, err := modules.Execute(ctx, m, env(t, false))
	if ctx.Err() != nil {
		t.Fatalf("%s %v: still running after %v (blocked on the FIFO?)", id, args, limit)
	}
	return r, err
}

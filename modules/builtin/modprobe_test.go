package builtin_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// modprobe with a stand-in modprobe (this kernel loads no modules): loaded
// only when /proc/modules lacks it, unloaded only when it has it, and the
// boot files written, kept and commented out as community.general's
// modprobe does.
func TestModprobe(t *testing.T) {
	bin, etc := t.TempDir(), t.TempDir()
	mods := filepath.Join(bin, "modules")
	calls := filepath.Join(bin, "calls")
	os.WriteFile(filepath.Join(bin, "modprobe"), []byte("#!/bin/sh\necho \"$*\" >> "+calls+"\n"), 0o755)
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	t.Setenv("RUNBOOK_PROC_MODULES", mods)
	t.Setenv("RUNBOOK_ETC", etc)
	os.WriteFile(mods, []byte("overlay 151552 0 - Live 0x0\n"), 0o644)
	steps := []struct {
		args    map[string]any
		changed bool
		call    string
	}{
		{map[string]any{"name": "br_netfilter", "params": "a=1 b=2", "persistent": "present"}, true, "-- br_netfilter a=1 b=2"},
		{map[string]any{"name": "overlay", "persistent": "present"}, true, ""}, // loaded already: only the boot file
		{map[string]any{"name": "overlay", "persistent": "present"}, false, ""},
		{map[string]any{"name": "overlay", "state": "absent", "persistent": "absent"}, true, "-r -- overlay"},
	}
	for i, s := range steps {
		os.Remove(calls)
		r := run(t, "modprobe", s.args)
		b, _ := os.ReadFile(calls)
		if r.Changed != s.changed || strings.TrimSpace(string(b)) != s.call {
			t.Errorf("step %d %v: changed %v, modprobe %q; want %v, %q", i, s.args, r.Changed, strings.TrimSpace(string(b)), s.changed, s.call)
		}
	}
	load, _ := os.ReadFile(filepath.Join(etc, "modules-load.d", "br_netfilter.conf"))
	opts, _ := os.ReadFile(filepath.Join(etc, "modprobe.d", "br_netfilter.conf"))
	gone, _ := os.ReadFile(filepath.Join(etc, "modules-load.d", "overlay.conf"))
	if string(load) != "br_netfilter\n" || string(opts) != "options br_netfilter a=1\noptions br_netfilter b=2\n" || string(gone) != "#overlay\n" {
		t.Errorf("boot files: %q %q %q", load, opts, gone)
	}
}

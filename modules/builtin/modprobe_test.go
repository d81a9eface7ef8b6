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
	// what modprobe was asked, but for the plan's dry runs (-n)
	called := func() string {
		b, _ := os.ReadFile(calls)
		var real []string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if l != "" && !strings.HasPrefix(l, "-n ") {
				real = append(real, l)
			}
		}
		return strings.Join(real, "\n")
	}
	files := func() string { return tree(t, etc) }
	for i, s := range steps {
		// check mode first: it foresees the step, loads nothing, writes nothing
		os.Remove(calls)
		before := files()
		if changed, err := runModuleIn(t, "modprobe", s.args, true); err != nil || changed != s.changed || called() != "" || files() != before {
			t.Errorf("step %d %v in check mode: changed %v (%v), modprobe %q, files changed: %v", i, s.args, changed, err, called(), files() != before)
		}
		os.Remove(calls)
		r := run(t, "modprobe", s.args)
		if r.Changed != s.changed || called() != s.call {
			t.Errorf("step %d %v: changed %v, modprobe %q; want %v, %q", i, s.args, r.Changed, called(), s.changed, s.call)
		}
	}
	load, _ := os.ReadFile(filepath.Join(etc, "modules-load.d", "br_netfilter.conf"))
	opts, _ := os.ReadFile(filepath.Join(etc, "modprobe.d", "br_netfilter.conf"))
	gone, _ := os.ReadFile(filepath.Join(etc, "modules-load.d", "overlay.conf"))
	if string(load) != "br_netfilter\n" || string(opts) != "options br_netfilter a=1\noptions br_netfilter b=2\n" || string(gone) != "#overlay\n" {
		t.Errorf("boot files: %q %q %q", load, opts, gone)
	}
}

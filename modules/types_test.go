package modules

import (
	"io/fs"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Symbolic modes as chmod(1) applies them (the same table Ansible's file
// module follows; the oracle test in modules/builtin runs Ansible itself).
func TestSymbolicModeFor(t *testing.T) {
	for _, c := range []struct {
		mode string
		cur  fs.FileMode
		dir  bool
		want fs.FileMode
	}{
		{"u+x", 0o644, false, 0o744},
		{"go-w", 0o666, false, 0o644},
		{"a=r", 0o755, false, 0o444},
		{"u=rw,g=r,o=", 0o777, false, 0o640},
		{"a-s", 0o6755, false, 0o755},
		{"u+s,g+s", 0o755, false, 0o6755},
		{"a+X", 0o644, false, 0o644},
		{"a+X", 0o744, false, 0o755},
		{"go+X", 0o700, true, 0o711},
		{"o=u", 0o640, false, 0o646},
		{"+t", 0o755, true, 0o1755},
		{"u-w+x,g=rx", 0o644, false, 0o554},
		{"=", 0o4755, false, 0o0},
	} {
		var m Mode
		if err := yaml.Unmarshal([]byte(c.mode), &m); err != nil || m.Symbolic == "" {
			t.Fatalf("%s: %v %+v", c.mode, err, m)
		}
		if got := m.For(c.cur, c.dir); got != c.want {
			t.Errorf("%s on %04o: %04o, want %04o", c.mode, c.cur, got, c.want)
		}
	}
	for _, bad := range []string{"u", "u+q", "rwx", "u+r,", "0999", "a+rw x"} {
		var m Mode
		if err := yaml.Unmarshal([]byte(bad), &m); err == nil {
			t.Errorf("%q accepted as %+v", bad, m)
		}
	}
}

// Any text is either refused as a mode or gives a mode that stays within
// the permission bits, whatever the mode it is applied to.
func FuzzMode(f *testing.F) {
	for _, s := range []string{"0644", "u+rwx", "go-w,a+X", "o=u", "=", "u+s-x=t"} {
		f.Add(s, uint16(0o644), false)
	}
	f.Fuzz(func(t *testing.T, s string, cur uint16, dir bool) {
		var m Mode
		if yaml.Unmarshal([]byte(s), &m) != nil || !m.Set {
			return
		}
		if got := m.For(fs.FileMode(cur)&0o7777, dir); got&^0o7777 != 0 {
			t.Fatalf("%q on %04o gave %o", s, cur, got)
		}
	})
}

package builtin_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// capabilities on a real file with the host's setcap and getcap: granted,
// granted again (no change, although getcap writes cap+ep back as =ep),
// a second one kept beside the first, taken away.
func TestCapabilitiesWithSetcap(t *testing.T) {
	if _, err := exec.LookPath("setcap"); err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and setcap (make test-deps installs libcap2-bin)")
	}
	f := filepath.Join(t.TempDir(), "tool")
	os.WriteFile(f, []byte("#!/bin/sh\n"), 0o755)
	getcap := func() string {
		out, _ := exec.Command("getcap", f).Output()
		return strings.TrimSpace(strings.TrimPrefix(string(out), f))
	}
	steps := []struct {
		cap, state string
		changed    bool
		after      string
	}{
		{"cap_net_raw+ep", "present", true, "cap_net_raw=ep"},
		{"cap_net_raw+ep", "present", false, "cap_net_raw=ep"},
		{"CAP_NET_BIND_SERVICE=ep", "present", true, "cap_net_bind_service,cap_net_raw=ep"},
		{"cap_net_raw", "absent", true, "cap_net_bind_service=ep"},
		{"cap_net_raw", "absent", false, "cap_net_bind_service=ep"},
		{"cap_net_bind_service", "absent", true, ""},
	}
	for i, s := range steps {
		r := run(t, "capabilities", map[string]any{"path": f, "capability": s.cap, "state": s.state})
		if r.Changed != s.changed || getcap() != s.after {
			t.Errorf("step %d (%s %s): changed %v, getcap %q; want %v, %q", i, s.state, s.cap, r.Changed, getcap(), s.changed, s.after)
		}
	}
}

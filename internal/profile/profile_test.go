package profile

import (
	"os"
	"path/filepath"
	"testing"
)

// Profiles planted as symbolic links (RUNBOOK_PROFILE in a shared folder)
// are never written through.
func TestPlantedProfileLinksAreNotFollowed(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("precious\n"), 0o644)
	os.Symlink(victim, filepath.Join(dir, "prof.cpu"))
	os.Symlink(victim, filepath.Join(dir, "prof.heap"))
	t.Setenv("RUNBOOK_PROFILE", filepath.Join(dir, "prof"))
	stop := Start()
	stop()
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Errorf("a planted profile link was written through: %q", b)
	}
	// the control: without planted links the profiles are written
	t.Setenv("RUNBOOK_PROFILE", filepath.Join(dir, "fresh"))
	stop = Start()
	stop()
	if st, err := os.Stat(filepath.Join(dir, "fresh.cpu")); err != nil || st.Size() == 0 {
		t.Errorf("no CPU profile written: %v", err)
	}
}

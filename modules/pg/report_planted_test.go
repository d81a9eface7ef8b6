package pg

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A drill's report folder has a predictable name (mode and time): one
// planted as a symbolic link to another user's folder is refused, and
// nothing is written there.
func TestPlantedReportFolderIsRefused(t *testing.T) {
	base := t.TempDir()
	victim := filepath.Join(base, "victim")
	os.Mkdir(victim, 0o755)
	now := time.Now().UTC()
	for i := 0; i < 5; i++ {
		name := "failover-kill-" + now.Add(time.Duration(i)*time.Second).Format("20060102-150405")
		os.Symlink(victim, filepath.Join(base, name))
	}
	if _, err := writeReport(base, "failover-kill", ProbeReport{}, nil); err == nil {
		t.Error("a report was written into a planted link")
	}
	if entries, _ := os.ReadDir(victim); len(entries) > 0 {
		t.Errorf("the victim's folder now holds %v", entries)
	}
}

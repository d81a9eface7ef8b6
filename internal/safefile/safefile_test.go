package safefile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A symbolic link planted where runbook writes never redirects the write.
func TestPlantedLinksAreNotFollowed(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("precious"), 0o644)
	link := filepath.Join(dir, "report.json")
	os.Symlink(victim, link)
	if err := WriteFile(link, []byte("report"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("WriteFile followed the link: victim is %q", b)
	}
	if st, _ := os.Lstat(link); st.Mode()&os.ModeSymlink != 0 {
		t.Errorf("the link is still there")
	}
	link2 := filepath.Join(dir, "campaign.log")
	os.Symlink(victim, link2)
	if _, err := Create(link2, 0o644); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("Create through a link: %v", err)
	}
	fifo := filepath.Join(dir, "fifo")
	syscall.Mkfifo(fifo, 0o644)
	if _, err := Create(fifo, 0o644); err == nil {
		t.Errorf("Create on a FIFO succeeded")
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("victim changed: %q", b)
	}
	os.Symlink(dir, filepath.Join(dir, "linkdir"))
	if err := MkdirPrivate(filepath.Join(dir, "linkdir"), 0o755); err == nil {
		t.Errorf("MkdirPrivate accepted a link")
	}
	f, err := Create(filepath.Join(dir, "new.log"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/transport"
)

// The lab record is read as root and names a network namespace: one
// another user could write, or whose namespace climbs out of /run/netns,
// is refused before anything runs.
func TestLabRecordMustBeTrusted(t *testing.T) {
	dir := t.TempDir()
	rec := "all:\n  vars:\n    runbook_lab_netns: rblab\n  hosts:\n    postgres1: {ansible_host: 127.0.0.1}\n"
	path := filepath.Join(dir, "lab.yaml")
	t.Setenv("RUNBOOK_LAB_FILE", path)
	os.WriteFile(path, []byte(rec), 0o600)
	if _, _, err := loadLabRecord(&runFlags{}); err != nil {
		t.Fatalf("the user's own 0600 record: %v", err)
	}
	os.Chmod(path, 0o666)
	if _, _, err := loadLabRecord(&runFlags{}); err == nil || !strings.Contains(err.Error(), "writable by others") {
		t.Errorf("a world-writable record: %v", err)
	}
	os.Chmod(path, 0o600)
	if os.Geteuid() == 0 {
		os.Chown(path, 65534, 65534)
		if _, _, err := loadLabRecord(&runFlags{}); err == nil || !strings.Contains(err.Error(), "owned by") {
			t.Errorf("another user's record: %v", err)
		}
		os.Chown(path, 0, 0)
	}
	real := filepath.Join(dir, "real.yaml")
	os.WriteFile(real, []byte(rec), 0o600)
	os.Remove(path)
	os.Symlink(real, path)
	if _, _, err := loadLabRecord(&runFlags{}); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("a record that is a link: %v", err)
	}
	os.Remove(path)
	os.WriteFile(path, []byte(strings.Replace(rec, "rblab", "../../proc/1/ns/net", 1)), 0o600)
	if _, _, err := loadLabRecord(&runFlags{}); err == nil || !strings.Contains(err.Error(), "network namespace") {
		t.Errorf("a namespace out of /run/netns: %v", err)
	}
	for _, ns := range []string{"..", ".", "a/b", "", "x y"} {
		if transport.ValidNetNS(ns) == nil {
			t.Errorf("ValidNetNS(%q) accepted", ns)
		}
	}
	if err := transport.ValidNetNS("rblab"); err != nil {
		t.Errorf("rblab: %v", err)
	}
}

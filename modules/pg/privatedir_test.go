package pg

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The writer's directory must be the connecting user's own: another
// user's private folder (even 0700) could have its script swapped.
func TestPrivateDirRefusesAnotherUsersFolder(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a folder to another user")
	}
	dir := t.TempDir()
	mine := filepath.Join(dir, "mine")
	theirs := filepath.Join(dir, "theirs")
	os.Mkdir(theirs, 0o700)
	if err := os.Chown(theirs, 65534, 65534); err != nil {
		t.Skip(err)
	}
	open := filepath.Join(dir, "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	for path, ok := range map[string]bool{filepath.Join(mine, "w.log"): true, filepath.Join(theirs, "w.log"): false, filepath.Join(open, "w.log"): false} {
		err := exec.Command("sh", "-c", privateDir(path)).Run()
		if (err == nil) != ok {
			t.Errorf("%s: accepted=%v, want %v", filepath.Dir(path), err == nil, ok)
		}
	}
}

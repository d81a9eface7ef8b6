// Package safefile creates files on the controller so that nobody else can
// redirect them: runbook often runs as root, and a symbolic link planted
// where it writes a report or a profile would make root overwrite any file.
package safefile

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// WriteFile writes data to path atomically: a new temporary file beside it
// (created exclusively, with a random name) renamed over path. A symbolic
// link at path is replaced, never followed; readers never see half a file.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Create opens path for writing, truncated, refusing a symbolic link in its
// place (O_NOFOLLOW) and anything but a regular file.
func Create(path string, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, perm)
	if err != nil {
		if isLoop(err) {
			return nil, fmt.Errorf("%s is a symbolic link; refusing to write through it", path)
		}
		return nil, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file; refusing to write to it", path)
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func isLoop(err error) bool {
	pe, ok := err.(*os.PathError)
	return ok && pe.Err == syscall.ELOOP
}

// MkdirPrivate makes dir (and its parents) and refuses a dir that is a
// symbolic link or belongs to another user: what runbook then writes
// inside stays where it meant to write.
func MkdirPrivate(dir string, perm os.FileMode) error {
	if err := os.MkdirAll(dir, perm); err != nil {
		return err
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory (a symbolic link?); refusing to write in it", dir)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Getuid() {
		return fmt.Errorf("%s belongs to uid %d, not to you; refusing to write in it", dir, sys.Uid)
	}
	return nil
}

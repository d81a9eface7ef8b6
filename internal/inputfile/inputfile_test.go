package inputfile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A FIFO nothing writes to, a device, and a folder are errors at once; a
// pipe with a writer is read.
func TestReadRefusesWhatWouldHang(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	for path, want := range map[string]string{fifo: "nothing written", "/dev/zero": "device", dir: "directory"} {
		done := make(chan error, 1)
		go func() { _, err := Read(path); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v, want %q", path, err, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: Read hangs", path)
		}
	}
	// a writer that sends its text and closes
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err == nil {
			f.WriteString("- hosts: all\n")
			f.Close()
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := Read(fifo)
		if err == nil {
			if string(b) != "- hosts: all\n" {
				t.Errorf("pipe: %q", b)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pipe with a writer: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

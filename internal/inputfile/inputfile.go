// Package inputfile reads the files a user hands runbook (playbooks,
// inventories, variable files) with a size bound, so that a wrong path
// (/dev/zero, a disk image) is one clear error, not the machine's memory.
package inputfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

// PipeWait bounds how long a pipe (-i <(command), a FIFO) may take to
// deliver its whole text.
const PipeWait = 20 * time.Second

// MaxSize bounds one input file: far above any real playbook or inventory.
const MaxSize = 32 << 20

// Read reads a regular file or a pipe of at most MaxSize bytes.
//
// It opens without blocking, so a FIFO that nothing writes to is an error
// at once instead of a hang, and a pipe whose writer stalls is cut off
// after PipeWait.
func Read(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	pipe := false
	switch {
	case st.Mode().IsRegular():
		if st.Size() > MaxSize {
			return nil, fmt.Errorf("%s: %d bytes, over the %d MiB an input file may have", path, st.Size(), MaxSize>>20)
		}
	case st.Mode()&os.ModeNamedPipe != 0:
		pipe = true
		_ = f.SetReadDeadline(time.Now().Add(PipeWait))
	case st.IsDir():
		return nil, fmt.Errorf("%s is a directory, not a file", path)
	default:
		return nil, fmt.Errorf("%s is a device or socket, not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, fmt.Errorf("%s: a pipe that sent nothing to its end in %v", path, PipeWait)
	}
	if err != nil {
		return nil, err
	}
	if pipe && len(b) == 0 {
		return nil, fmt.Errorf("%s: a pipe with nothing written to it", path)
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%s: over the %d MiB an input file may have", path, MaxSize>>20)
	}
	return b, nil
}

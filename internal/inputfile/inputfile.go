// Package inputfile reads the files a user hands runbook (playbooks,
// inventories, variable files) with a size bound, so that a wrong path
// (/dev/zero, a disk image) is one clear error, not the machine's memory.
package inputfile

import (
	"fmt"
	"io"
	"os"
)

// MaxSize bounds one input file: far above any real playbook or inventory.
const MaxSize = 32 << 20

// Read reads a regular file or a pipe of at most MaxSize bytes.
func Read(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	switch {
	case st.Mode().IsRegular():
		if st.Size() > MaxSize {
			return nil, fmt.Errorf("%s: %d bytes, over the %d MiB an input file may have", path, st.Size(), MaxSize>>20)
		}
	case st.Mode()&os.ModeNamedPipe != 0:
	case st.IsDir():
		return nil, fmt.Errorf("%s is a directory, not a file", path)
	default:
		return nil, fmt.Errorf("%s is a device or socket, not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%s: over the %d MiB an input file may have", path, MaxSize>>20)
	}
	return b, nil
}

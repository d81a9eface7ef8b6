package transport

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

// chunks reads a stream in pieces of the sizes a fuzzer chooses: markers
// split across reads are the reader's hard case.
type chunks struct {
	data  []byte
	sizes []byte
}

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.sizes) > 0 {
		n = min(n, int(c.sizes[0])%17+1)
		c.sizes = c.sizes[1:]
	}
	n = min(n, len(p))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// Whatever the host prints (marker look-alikes, partial markers, NUL
// bytes) and however the reads split it, the reader gives back exactly
// the bytes before each real marker, in order, and then reports the end.
func FuzzMarkerReader(f *testing.F) {
	f.Add([]byte("out"), []byte("\nrb"), []byte{1, 2, 3})
	f.Add([]byte("\nrbX \n"), []byte(""), []byte{0, 0, 0, 0})
	f.Add([]byte("a\x00b"), []byte("\n"), []byte{16})
	f.Fuzz(func(t *testing.T, first, second, sizes []byte) {
		marker := []byte("\n" + newNonce() + " ")
		stream := bytes.Join([][]byte{first, marker, second, marker}, nil)
		m := &markerReader{r: iotest.HalfReader(&chunks{data: stream, sizes: sizes})}
		for i, want := range [][]byte{first, second} {
			got, err := m.until(marker)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("part %d: %q, %v; want %q", i, got, err, want)
			}
		}
		if got, err := m.until(marker); err == nil {
			t.Fatalf("a third marker found in %q", got)
		}
	})
}

package pg

import "testing"

// parseDiscard takes numbers only from what the host printed: anything
// malformed tells nothing rather than something wrong.
func TestParseDiscard(t *testing.T) {
	for _, c := range []struct {
		out   string
		ok    bool
		bytes uint64
		txs   int
	}{
		{"diverged 0/3018038 1\nlast 0/3018140 50 3\n", true, 0x3018140 + 50 - 0x3018038, 3},
		{"diverged 1/FFFFFFF0 4\nlast 2/00000010 16 0\n", true, 0x20 + 16, 0},
		{"diverged 0/3018038 1\n", true, 0, 0}, // no WAL after it left
		{"", false, 0, 0},
		{"diverged {{ lookup }} 1\nlast 0/1 2 3\n", false, 0, 0},
		{"diverged 0/10 1\nlast 0/5 1 9\n", true, 0, 9}, // before the divergence: no bytes
		{"diverged 0/10 1\nlast 0/zz 1 9\n", true, 0, 0},
	} {
		d, ok := parseDiscard(c.out)
		if ok != c.ok || d.Bytes != c.bytes || d.Transactions != c.txs {
			t.Errorf("%q: %+v %v, want bytes %d, transactions %d, %v", c.out, d, ok, c.bytes, c.txs, c.ok)
		}
	}
}

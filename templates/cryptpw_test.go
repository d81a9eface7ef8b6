package templates

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// SHA512Crypt against openssl passwd -6 (glibc's algorithm), for short and
// long passwords and salts, and other rounds.
func TestSHA512CryptMatchesOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl")
	}
	cases := []struct {
		pw, salt string
		rounds   int
	}{
		{"secret", "mysalt", 5000}, {"x", "a", 5000}, {strings.Repeat("long password ", 10), "0123456789abcdefXYZ", 5000},
		{"p", "saltsalt", 10000}, {"ünïcode", "s.l/t", 5000},
	}
	for _, c := range cases {
		args := []string{"passwd", "-6", "-salt", c.salt}
		if c.rounds != 5000 {
			args[3] = "rounds=" + strconv.Itoa(c.rounds) + "$" + c.salt
		}
		out, err := exec.Command("openssl", append(args, c.pw)...).Output()
		if err != nil {
			t.Fatalf("openssl %v: %v", args, err)
		}
		if got, want := SHA512Crypt(c.pw, c.salt, c.rounds), strings.TrimSpace(string(out)); got != want {
			t.Errorf("%q %q %d: %s, openssl %s", c.pw, c.salt, c.rounds, got, want)
		}
	}
}

// pySlice as Python slices: negative bounds from the end, out of range
// clamped, an empty result when the end is before the start.
func TestPySlice(t *testing.T) {
	l := []any{1, 2, 3, 4}
	for _, c := range []struct {
		x, lo, hi any
		want      string
	}{
		{"Hello", 1, nil, "ello"}, {"Hello", nil, -1, "Hell"}, {"Hello", -3, nil, "llo"}, {"Hello", 4, 2, ""},
		{"héllo", 1, 3, "él"}, {l, 1, 3, "[2 3]"}, {l, -1, nil, "[4]"}, {l, 10, nil, "[]"}, {l, nil, 100, "[1 2 3 4]"},
	} {
		got, err := pySlice(c.x, c.lo, c.hi)
		if err != nil || fmt.Sprint(got) != c.want {
			t.Errorf("%v[%v:%v] = %v (%v), want %s", c.x, c.lo, c.hi, got, err, c.want)
		}
	}
}

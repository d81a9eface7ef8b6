package templates

import (
	"crypto/rand"
	"crypto/sha512"
	"fmt"
	"strconv"
	"strings"
)

// itoa64 is crypt(3)'s alphabet.
const itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// passwordHash is Ansible's password_hash filter for sha512 (the form
// /etc/shadow and the user module take): password_hash('sha512'[, salt[,
// rounds]]) with the value last. Without a salt one is drawn at random.
func passwordHash(args ...any) (string, error) {
	if len(args) < 1 {
		return "", fmt.Errorf("password_hash: no value")
	}
	value := fmt.Sprint(args[len(args)-1])
	params := args[:len(args)-1]
	method := "sha512"
	if len(params) > 0 {
		method = fmt.Sprint(params[0])
	}
	if method != "sha512" && method != "sha512_crypt" {
		return "", fmt.Errorf("password_hash: runbook makes sha512 hashes (as /etc/shadow holds them), not %s", method)
	}
	salt := ""
	if len(params) > 1 && params[1] != nil {
		salt = fmt.Sprint(params[1])
	}
	if salt == "" {
		b := make([]byte, 16)
		rand.Read(b)
		for _, c := range b {
			salt += string(itoa64[int(c)%64])
		}
	}
	rounds := 5000
	if len(params) > 2 && params[2] != nil {
		n, err := strconv.Atoi(fmt.Sprint(params[2]))
		if err != nil {
			return "", fmt.Errorf("password_hash: rounds %v is not a number", params[2])
		}
		rounds = n
	}
	return SHA512Crypt(value, salt, rounds), nil
}

// SHA512Crypt is glibc's crypt(3) "$6$" (Ulrich Drepper's SHA-crypt): the
// salt is cut at 16 characters, rounds kept within 1000..999999999 and
// written only when not the implicit 5000.
func SHA512Crypt(password, salt string, rounds int) string {
	if len(salt) > 16 {
		salt = salt[:16]
	}
	rounds = min(max(rounds, 1000), 999999999)
	p, s := []byte(password), []byte(salt)
	sum := func(parts ...[]byte) []byte {
		h := sha512.New()
		for _, x := range parts {
			h.Write(x)
		}
		return h.Sum(nil)
	}
	b := sum(p, s, p)
	a := sha512.New()
	a.Write(p)
	a.Write(s)
	i := len(p)
	for ; i > 64; i -= 64 {
		a.Write(b)
	}
	a.Write(b[:i])
	for i = len(p); i > 0; i >>= 1 {
		if i&1 != 0 {
			a.Write(b)
		} else {
			a.Write(p)
		}
	}
	c := a.Sum(nil)
	dp := sha512.New()
	for range p {
		dp.Write(p)
	}
	pSeq := repeatTo(dp.Sum(nil), len(p))
	ds := sha512.New()
	for range 16 + int(c[0]) {
		ds.Write(s)
	}
	sSeq := repeatTo(ds.Sum(nil), len(s))
	for r := 0; r < rounds; r++ {
		h := sha512.New()
		if r%2 != 0 {
			h.Write(pSeq)
		} else {
			h.Write(c)
		}
		if r%3 != 0 {
			h.Write(sSeq)
		}
		if r%7 != 0 {
			h.Write(pSeq)
		}
		if r%2 != 0 {
			h.Write(c)
		} else {
			h.Write(pSeq)
		}
		c = h.Sum(nil)
	}
	var out strings.Builder
	out.WriteString("$6$")
	if rounds != 5000 {
		fmt.Fprintf(&out, "rounds=%d$", rounds)
	}
	out.WriteString(salt + "$")
	enc := func(b2, b1, b0 byte, n int) {
		w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
		for ; n > 0; n-- {
			out.WriteByte(itoa64[w&0x3f])
			w >>= 6
		}
	}
	for k := 0; k < 21; k++ {
		// glibc's order: each group of three takes bytes k, k+21, k+42 in a rotating order
		x, y, z := k, k+21, k+42
		switch k % 3 {
		case 0:
			enc(c[x], c[y], c[z], 4)
		case 1:
			enc(c[y], c[z], c[x], 4)
		case 2:
			enc(c[z], c[x], c[y], 4)
		}
	}
	enc(0, 0, c[63], 2)
	return out.String()
}

func repeatTo(d []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, d[:min(len(d), n-len(out))]...)
	}
	return out
}

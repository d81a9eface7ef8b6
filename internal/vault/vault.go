// Package vault reads and writes Ansible Vault text, formats 1.1 and 1.2
// (with a vault id), byte for byte as ansible-vault does: AES-256 in CTR
// mode over PKCS#7-padded text, keys and counter from PBKDF2-SHA256 (10,000
// rounds, 32 bytes of salt), an HMAC-SHA256 of the ciphertext, everything
// hex-encoded twice and cut into lines of 80.
package vault

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Header starts every vaulted text.
const Header = "$ANSIBLE_VAULT"

// IsVault says whether b is vaulted text (leading blanks allowed).
func IsVault(b []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte(Header+";"))
}

// Envelope is a vaulted text's header and its hex body.
type Envelope struct {
	Version string // 1.1 or 1.2
	Cipher  string // AES256
	ID      string // the vault id (1.2 only)
	body    []byte // hex, newlines removed
}

// Parse reads the header and the body of vaulted text.
func Parse(text []byte) (Envelope, error) {
	lines := strings.Split(strings.TrimSpace(string(text)), "\n")
	head := strings.Split(strings.TrimSpace(lines[0]), ";")
	if len(head) < 3 || strings.TrimSpace(head[0]) != Header {
		return Envelope{}, errors.New("not Ansible Vault text (its first line must be $ANSIBLE_VAULT;1.1;AES256)")
	}
	e := Envelope{Version: strings.TrimSpace(head[1]), Cipher: strings.TrimSpace(head[2])}
	if len(head) >= 4 {
		e.ID = strings.TrimSpace(head[3])
	}
	if e.Version != "1.1" && e.Version != "1.2" {
		return Envelope{}, fmt.Errorf("vault format %q: runbook reads 1.1 and 1.2", e.Version)
	}
	if e.Cipher != "AES256" {
		return Envelope{}, fmt.Errorf("vault cipher %q: Ansible Vault has only AES256", e.Cipher)
	}
	var body strings.Builder
	for _, l := range lines[1:] {
		body.WriteString(strings.TrimSpace(l))
	}
	e.body = []byte(body.String())
	return e, nil
}

// ErrWrongSecret is a text that no given secret opens (its HMAC does not
// match): a wrong password, or a text changed since it was made.
var ErrWrongSecret = errors.New("no vault secret given opens it (wrong password, or the text was changed)")

// Open decrypts an envelope's body with one password.
func (e Envelope) Open(password []byte) ([]byte, error) {
	outer, err := hex.DecodeString(string(e.body))
	if err != nil {
		return nil, fmt.Errorf("vault body: %v", err)
	}
	parts := bytes.SplitN(outer, []byte("\n"), 3)
	if len(parts) != 3 {
		return nil, errors.New("vault body: expected salt, HMAC and ciphertext")
	}
	salt, err1 := hex.DecodeString(string(parts[0]))
	mac, err2 := hex.DecodeString(string(parts[1]))
	ct, err3 := hex.DecodeString(string(parts[2]))
	if err := errors.Join(err1, err2, err3); err != nil || len(salt) == 0 {
		return nil, fmt.Errorf("vault body: %v", err)
	}
	key, macKey, iv, err := derive(password, salt)
	if err != nil {
		return nil, err
	}
	h := hmac.New(sha256.New, macKey)
	h.Write(ct)
	if !hmac.Equal(h.Sum(nil), mac) {
		return nil, ErrWrongSecret
	}
	block, _ := aes.NewCipher(key)
	plain := make([]byte, len(ct))
	cipher.NewCTR(block, iv).XORKeyStream(plain, ct)
	n := len(plain)
	if n == 0 || n%aes.BlockSize != 0 {
		return nil, errors.New("vault body: the ciphertext is not whole blocks")
	}
	pad := int(plain[n-1])
	if pad < 1 || pad > aes.BlockSize || !bytes.Equal(plain[n-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, errors.New("vault body: bad padding")
	}
	return plain[:n-pad], nil
}

// Encrypt vaults plain with password; id "" or "default" gives format
// 1.1, any other id 1.2 with the id in the header (as ansible-vault).
func Encrypt(plain, password []byte, id string) ([]byte, error) {
	if len(password) == 0 {
		return nil, errors.New("an empty vault password")
	}
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	key, macKey, iv, err := derive(password, salt)
	if err != nil {
		return nil, err
	}
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	padded := append(append([]byte(nil), plain...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, _ := aes.NewCipher(key)
	ct := make([]byte, len(padded))
	cipher.NewCTR(block, iv).XORKeyStream(ct, padded)
	h := hmac.New(sha256.New, macKey)
	h.Write(ct)
	inner := strings.Join([]string{hex.EncodeToString(salt), hex.EncodeToString(h.Sum(nil)), hex.EncodeToString(ct)}, "\n")
	body := hex.EncodeToString([]byte(inner))
	head := Header + ";1.1;AES256"
	if id != "" && id != "default" {
		head = Header + ";1.2;AES256;" + id
	}
	var out strings.Builder
	out.WriteString(head + "\n")
	for i := 0; i < len(body); i += 80 {
		out.WriteString(body[i:min(i+80, len(body))] + "\n")
	}
	return []byte(out.String()), nil
}

// derive gives the AES key, the HMAC key and the counter's start.
func derive(password, salt []byte) (key, macKey, iv []byte, err error) {
	k, err := pbkdf2.Key(sha256.New, string(password), salt, 10000, 32+32+16)
	if err != nil {
		return nil, nil, nil, err
	}
	return k[:32], k[32:64], k[64:80], nil
}

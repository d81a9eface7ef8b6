package pg

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// PgpoolPasswd manages pool_passwd entries, computed here so no password
// is ever in a process's arguments: md5 entries are "md5" +
// md5(password + username); aes entries (for scram-sha-256 backends) are
// "AES" + base64 of AES-256-CBC with key and IV derived from the pool key as
// pgpool's pg_enc does (EVP_BytesToKey, SHA-1, no salt); text entries keep
// the password ("TEXT" prefix). The file is 0600/0640 and never diffed.
type PgpoolPasswd struct {
	Path    string            `yaml:"path" doc:"the pool_passwd file" default:"/etc/pgpool2/pool_passwd"`
	Users   map[string]string `yaml:"users" doc:"user: password"`
	Method  string            `yaml:"method" doc:"md5, aes (needs pool_key) or text" default:"md5"`
	PoolKey string            `yaml:"pool_key" doc:"pgpool's pool key (the first line of ~postgres/.pgpoolkey), for aes"`
	Owner   string            `yaml:"owner" doc:"owner" default:"postgres"`
	Group   string            `yaml:"group" doc:"group" default:"postgres"`
	Mode    modules.Mode      `yaml:"mode" doc:"mode" default:"0600"`
}

func init() {
	modules.Register(modules.Info{ID: "pgpool_passwd", Summary: "Manage pgpool-II's pool_passwd (md5 or TEXT entries), 0600, passwords never in arguments or output.",
		Example: "pgpool_passwd:\n  users:\n    client1: \"{{ .client1_password }}\"\n  method: md5\nno_log: true",
		New: func() modules.Module {
			return &PgpoolPasswd{Path: "/etc/pgpool2/pool_passwd", Method: "md5", Owner: "postgres", Group: "postgres", Mode: modules.Mode{Set: true, Perm: 0o600}}
		}})
}

// Validate checks the arguments.
func (p *PgpoolPasswd) Validate() error {
	if len(p.Users) == 0 {
		return errors.New("pgpool_passwd: users is required")
	}
	switch p.Method {
	case "md5", "text":
	case "aes":
		if p.PoolKey == "" {
			return errors.New("pgpool_passwd: method aes needs pool_key")
		}
	default:
		return fmt.Errorf("pgpool_passwd: method must be md5, aes or text, got %q", p.Method)
	}
	if p.Mode.Symbolic != "" {
		return fmt.Errorf("pgpool_passwd: write the mode in octal (0600 or 0640): a symbolic mode keeps what the file had, and others may read the hashes")
	}
	if m := p.Mode.Perm; m&0o007 != 0 {
		return fmt.Errorf("pgpool_passwd: mode %04o lets others read password hashes; use 0600 or 0640", m)
	}
	return nil
}

// PoolPasswdLine is one entry (key is the pool key, for aes).
func PoolPasswdLine(method, user, password, key string) string {
	switch method {
	case "text":
		return user + ":TEXT" + password
	case "aes":
		return user + ":AES" + PgEnc(password, key)
	}
	sum := md5.Sum([]byte(password + user))
	return user + ":md5" + hex.EncodeToString(sum[:])
}

// PgEnc encrypts like pgpool's pg_enc: AES-256-CBC, PKCS#7 padding, key and
// IV from OpenSSL's EVP_BytesToKey(SHA-1, no salt, one round) of the pool
// key, base64.
func PgEnc(password, key string) string {
	var derived, prev []byte
	for len(derived) < 48 {
		h := sha1.New()
		h.Write(prev)
		h.Write([]byte(key))
		prev = h.Sum(nil)
		derived = append(derived, prev...)
	}
	block, _ := aes.NewCipher(derived[:32])
	pad := aes.BlockSize - len(password)%aes.BlockSize
	plain := append([]byte(password), bytes.Repeat([]byte{byte(pad)}, pad)...)
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, derived[32:48]).CryptBlocks(out, plain)
	return base64.StdEncoding.EncodeToString(out)
}

// Run writes the file: entries for the given users replaced, others kept.
func (p *PgpoolPasswd) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	st, err := modules.Stat(ctx, env.Host, p.Path, true)
	if err != nil {
		return nil, err
	}
	entries := map[string]string{}
	var order []string
	for _, l := range strings.Split(string(st.Content), "\n") {
		if u, _, ok := strings.Cut(l, ":"); ok && u != "" {
			if _, dup := entries[u]; !dup {
				order = append(order, u)
			}
			entries[u] = l
		}
	}
	names := make([]string, 0, len(p.Users))
	for u := range p.Users {
		names = append(names, u)
	}
	sort.Strings(names)
	for _, u := range names {
		if _, ok := entries[u]; !ok {
			order = append(order, u)
		}
		entries[u] = PoolPasswdLine(p.Method, u, p.Users[u], p.PoolKey)
	}
	var b strings.Builder
	for _, u := range order {
		b.WriteString(entries[u] + "\n")
	}
	res, err := modules.PutFile(ctx, env, modules.FileSpec{Path: p.Path, Data: []byte(b.String()), Mode: p.Mode, Owner: p.Owner, Group: p.Group, Secret: true})
	if res != nil {
		res.Data["users"] = len(p.Users)
	}
	return res, err
}

var _ modules.Validator = (*PgpoolPasswd)(nil)

package vault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Secret is one vault password and its vault id.
type Secret struct {
	ID       string
	Password []byte
}

// LoadSecret reads one `--vault-id [ID@]SOURCE` or `--vault-password-file
// SOURCE` as Ansible does: SOURCE "prompt" asks (prompt), an executable
// file is run and its output is the password (a script whose name ends in
// "-client" is asked for the id with --vault-id ID), any other file is the
// password itself; surrounding blank lines and spaces are not part of it.
func LoadSecret(spec string, prompt func(id string) ([]byte, error)) (Secret, error) {
	id, source := "default", spec
	if i := strings.Index(spec, "@"); i >= 0 {
		id, source = spec[:i], spec[i+1:]
	}
	if id == "" || source == "" {
		return Secret{}, fmt.Errorf("vault id %q: expected [ID@]SOURCE (a file, a script or prompt)", spec)
	}
	var pw []byte
	switch {
	case source == "prompt":
		if prompt == nil {
			return Secret{}, fmt.Errorf("vault id %s: cannot prompt here (no terminal)", id)
		}
		p, err := prompt(id)
		if err != nil {
			return Secret{}, err
		}
		pw = bytes.TrimRight(p, "\r\n")
	default:
		st, err := os.Stat(source)
		if err != nil {
			return Secret{}, fmt.Errorf("vault password file %s: %v", source, err)
		}
		if !st.Mode().IsRegular() {
			return Secret{}, fmt.Errorf("vault password file %s: not a regular file", source)
		}
		if st.Mode()&0o111 != 0 {
			pw, err = runScript(source, id)
		} else {
			pw, err = os.ReadFile(source)
			pw = bytes.TrimSpace(pw)
		}
		if err != nil {
			return Secret{}, err
		}
		pw = bytes.Trim(pw, "\r\n")
	}
	if len(pw) == 0 {
		return Secret{}, fmt.Errorf("vault id %s: the password from %s is empty", id, source)
	}
	return Secret{ID: id, Password: pw}, nil
}

// scriptWait bounds a password script run without a terminal.
var scriptWait = 20 * time.Second

// runScript runs an executable password source (never with the password
// on its command line: it only prints it).
func runScript(path, id string) ([]byte, error) {
	// a script that asks a person (a pinentry on the terminal) may take
	// its time; one that asks a service answers in seconds or never
	wait := scriptWait
	if term.IsTerminal(int(os.Stdin.Fd())) {
		wait = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var args []string
	if strings.HasSuffix(strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), "-client") {
		args = []string{"--vault-id", id}
	}
	// a bare name is the file in this folder, as Ansible runs it, never a
	// command looked up in PATH
	run := path
	if !strings.ContainsRune(run, filepath.Separator) {
		run = "." + string(filepath.Separator) + run
	}
	cmd := exec.CommandContext(ctx, run, args...)
	cmd.Stdin = os.Stdin
	cmd.WaitDelay = time.Second // a child left holding stdout does not keep us waiting
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("vault password script %s gave no password within %s", path, wait)
	}
	if err != nil {
		return nil, fmt.Errorf("vault password script %s: %v %s", path, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Keyring holds a run's vault secrets and remembers every value it opened,
// so that output can mask them.
type Keyring struct {
	secrets []Secret
	mu      sync.Mutex
	seen    map[string]bool
	opened  []string
}

// NewKeyring makes a keyring of secrets (none is allowed: every vaulted
// text then fails to open with a message that says how to give one).
func NewKeyring(secrets ...Secret) *Keyring {
	return &Keyring{secrets: secrets, seen: map[string]bool{}}
}

// Has says whether any secret was given.
func (k *Keyring) Has() bool { return k != nil && len(k.secrets) > 0 }

// Open decrypts vaulted text: the secrets whose id the text names first,
// then the others (as ansible-vault). where names the text in errors.
func (k *Keyring) Open(text []byte, where string) ([]byte, error) {
	if !k.Has() {
		return nil, fmt.Errorf("%s is encrypted with Ansible Vault and no vault secret was given (--vault-password-file FILE, --vault-id [ID@]SOURCE or --ask-vault-pass)", where)
	}
	e, err := Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", where, err)
	}
	order := append([]Secret(nil), k.secrets...)
	sort.SliceStable(order, func(i, j int) bool { return order[i].ID == e.ID && order[j].ID != e.ID })
	for _, s := range order {
		plain, err := e.Open(s.Password)
		if err == nil {
			return plain, nil
		}
		if !errors.Is(err, ErrWrongSecret) {
			return nil, fmt.Errorf("%s: %v", where, err)
		}
	}
	return nil, fmt.Errorf("%s: %w", where, ErrWrongSecret)
}

// Secret remembers a value that came out of a vault.
func (k *Keyring) Secret(value string) {
	if k == nil || value == "" {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.seen[value] {
		k.seen[value] = true
		k.opened = append(k.opened, value)
	}
}

// Opened are the values opened so far.
func (k *Keyring) Opened() []string {
	if k == nil {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.opened...)
}

// For is the secret to encrypt with: the one of id (--encrypt-vault-id),
// or the only one given.
func (k *Keyring) For(id string) (Secret, error) {
	if !k.Has() {
		return Secret{}, errors.New("no vault secret given (--vault-password-file FILE, --vault-id [ID@]SOURCE or --ask-vault-pass)")
	}
	if id == "" {
		if len(k.secrets) > 1 {
			return Secret{}, errors.New("several vault secrets given: say which encrypts with --encrypt-vault-id ID")
		}
		return k.secrets[0], nil
	}
	for _, s := range k.secrets {
		if s.ID == id {
			return s, nil
		}
	}
	return Secret{}, fmt.Errorf("--encrypt-vault-id %s: no vault secret of that id was given", id)
}

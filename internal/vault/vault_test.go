package vault

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	for _, plain := range []string{"", "x", "exactly sixteen!", "a longer secret\nwith lines\n", strings.Repeat("z", 1000)} {
		for _, id := range []string{"", "prod"} {
			text, err := Encrypt([]byte(plain), []byte("pw"), id)
			if err != nil {
				t.Fatal(err)
			}
			e, err := Parse(text)
			if err != nil {
				t.Fatal(err)
			}
			if (id == "") != (e.Version == "1.1") || e.ID != id {
				t.Errorf("id %q: header %+v", id, e)
			}
			got, err := e.Open([]byte("pw"))
			if err != nil || string(got) != plain {
				t.Errorf("%q: got %q, %v", plain, got, err)
			}
			if _, err := e.Open([]byte("other")); !errors.Is(err, ErrWrongSecret) {
				t.Errorf("a wrong password: %v", err)
			}
		}
	}
}

// A changed byte anywhere is refused, never decrypted into garbage.
func TestTamperedTextRefused(t *testing.T) {
	text, _ := Encrypt([]byte("secret"), []byte("pw"), "")
	lines := strings.Split(string(text), "\n")
	b := []byte(lines[1])
	b[40] ^= 1
	if b[40] > 'f' || b[40] < '0' {
		b[40] = '0'
	}
	lines[1] = string(b)
	e, err := Parse([]byte(strings.Join(lines, "\n")))
	if err != nil {
		return // refused at parse: fine
	}
	if _, err := e.Open([]byte("pw")); err == nil {
		t.Error("a tampered text opened")
	}
}

func TestParseRefuses(t *testing.T) {
	for _, in := range []string{"", "hello", "$ANSIBLE_VAULT;9.9;AES256\n00", "$ANSIBLE_VAULT;1.1;DES\n00", "$ANSIBLE_VAULT;1.1\n"} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
	e, err := Parse([]byte("$ANSIBLE_VAULT;1.1;AES256\nzz\n"))
	if err == nil {
		if _, err := e.Open([]byte("pw")); err == nil {
			t.Error("a body that is not hex opened")
		}
	}
}

func TestLoadSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pw")
	os.WriteFile(file, []byte("  s3cret \n\n"), 0o600)
	script := filepath.Join(dir, "pw-client.sh")
	os.WriteFile(script, []byte("#!/bin/sh\n[ \"$1 $2\" = '--vault-id prod' ] && echo scripted\n"), 0o700)
	s, err := LoadSecret(file, nil)
	if err != nil || string(s.Password) != "s3cret" || s.ID != "default" {
		t.Errorf("file: %+v %v", s, err)
	}
	s, err = LoadSecret("prod@"+script, nil)
	if err != nil || string(s.Password) != "scripted" || s.ID != "prod" {
		t.Errorf("client script: %+v %v", s, err)
	}
	s, err = LoadSecret("dev@prompt", func(id string) ([]byte, error) { return []byte("typed\n"), nil })
	if err != nil || string(s.Password) != "typed" {
		t.Errorf("prompt: %+v %v", s, err)
	}
	for _, bad := range []string{"@" + file, "x@", filepath.Join(dir, "missing"), dir} {
		if _, err := LoadSecret(bad, nil); err == nil {
			t.Errorf("%q loaded", bad)
		}
	}
	os.WriteFile(file, []byte("\n"), 0o600)
	if _, err := LoadSecret(file, nil); err == nil {
		t.Error("an empty password loaded")
	}
}

// A password script named without a folder is the file in the current
// folder (as Ansible runs it; it was looked up in PATH and not found), and
// one that never answers is a clear error, not a hang.
func TestPasswordScriptByBareNameAndBounded(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "pw.sh"), []byte("#!/bin/sh\necho fromhere\n"), 0o700)
	os.WriteFile(filepath.Join(dir, "slow.sh"), []byte("#!/bin/sh\nexec sleep 30\n"), 0o700)
	t.Chdir(dir)
	s, err := LoadSecret("pw.sh", nil)
	if err != nil || string(s.Password) != "fromhere" {
		t.Errorf("bare name: %+v %v", s, err)
	}
	scriptWait = 200 * time.Millisecond
	defer func() { scriptWait = 20 * time.Second }()
	if _, err := LoadSecret("slow.sh", nil); err == nil || !strings.Contains(err.Error(), "gave no password within") {
		t.Errorf("slow script: %v", err)
	}
}

func TestKeyringTriesTheNamedIDFirst(t *testing.T) {
	text, _ := Encrypt([]byte("v"), []byte("prod-pw"), "prod")
	k := NewKeyring(Secret{ID: "dev", Password: []byte("dev-pw")}, Secret{ID: "prod", Password: []byte("prod-pw")})
	if got, err := k.Open(text, "x"); err != nil || string(got) != "v" {
		t.Errorf("%q %v", got, err)
	}
	if _, err := NewKeyring().Open(text, "group_vars/all.yml"); err == nil || !strings.Contains(err.Error(), "--vault-password-file") {
		t.Errorf("no secret: %v", err)
	}
	if _, err := NewKeyring(Secret{ID: "x", Password: []byte("no")}).Open(text, "f"); !errors.Is(err, ErrWrongSecret) {
		t.Errorf("wrong secret: %v", err)
	}
}

// The oracle: Debian's ansible-vault opens what runbook writes, and
// runbook opens what ansible-vault writes, both formats.
func TestAgainstAnsibleVault(t *testing.T) {
	av, err := exec.LookPath("ansible-vault")
	if err != nil {
		t.Skip("ansible-vault missing (make test installs ansible-core)")
	}
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("correct horse\n"), 0o600)
	plain := "db_password: \"s3cr3t with spaces\"\nlist: [1, 2]\n"
	for _, id := range []string{"", "prod"} {
		// ansible-vault writes, runbook reads
		f := filepath.Join(dir, "by-ansible"+id)
		os.WriteFile(f, []byte(plain), 0o600)
		args := []string{"encrypt", f, "--vault-password-file", pw}
		if id != "" {
			args = []string{"encrypt", f, "--vault-id", id + "@" + pw, "--encrypt-vault-id", id}
		}
		if out, err := exec.Command(av, args...).CombinedOutput(); err != nil {
			t.Fatalf("ansible-vault %v: %v\n%s", args, err, out)
		}
		text, _ := os.ReadFile(f)
		e, err := Parse(text)
		if err != nil || e.ID != id {
			t.Fatalf("id %q: %+v %v\n%s", id, e, err, text)
		}
		got, err := e.Open([]byte("correct horse"))
		if err != nil || string(got) != plain {
			t.Errorf("runbook opening ansible-vault's %q: %q %v", id, got, err)
		}
		// runbook writes, ansible-vault reads
		mine, _ := Encrypt([]byte(plain), []byte("correct horse"), id)
		g := filepath.Join(dir, "by-runbook"+id)
		os.WriteFile(g, mine, 0o600)
		out, err := exec.Command(av, "view", g, "--vault-password-file", pw).Output()
		if err != nil || !bytes.Equal(out, []byte(plain)) {
			t.Errorf("ansible-vault viewing runbook's %q: %q %v", id, out, err)
		}
	}
	// encrypt_string: an inline !vault value
	out, err := exec.Command(av, "encrypt_string", "--vault-password-file", pw, "inline-secret", "--name", "x").Output()
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := strings.Cut(string(out), "!vault |")
	e, err := Parse([]byte(body))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got, err := e.Open([]byte("correct horse")); err != nil || string(got) != "inline-secret" {
		t.Errorf("encrypt_string: %q %v", got, err)
	}
}

func FuzzOpen(f *testing.F) {
	text, _ := Encrypt([]byte("secret"), []byte("pw"), "id")
	f.Add(text)
	f.Add([]byte("$ANSIBLE_VAULT;1.1;AES256\n3030\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if e, err := Parse(b); err == nil {
			e.Open([]byte("pw"))
		}
	})
}

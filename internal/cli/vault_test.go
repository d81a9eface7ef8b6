package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/internal/vault"
)

// Vault end to end, as an Ansible user has it: a vars file vaulted whole,
// an inline !vault value, a vaulted -e @file and a vaulted group_vars file,
// opened with --vault-password-file / --vault-id; the values reach the
// host and never the output. Files are made by ansible-vault when it is
// installed (the oracle), else by runbook's own vault.
func TestVaultInPlaybooks(t *testing.T) {
	dir := t.TempDir()
	pw := writeFile(t, dir, "pw", "lab-vault-pw\n")
	seal := func(name, plain, id string) string {
		p := writeFile(t, dir, name, plain)
		if av, err := exec.LookPath("ansible-vault"); err == nil {
			args := []string{"encrypt", p, "--vault-password-file", pw}
			if id != "" {
				args = []string{"encrypt", p, "--vault-id", id + "@" + pw, "--encrypt-vault-id", id}
			}
			if out, err := exec.Command(av, args...).CombinedOutput(); err != nil {
				t.Fatalf("ansible-vault: %v\n%s", err, out)
			}
			return p
		}
		b, _ := vault.Encrypt([]byte(plain), []byte("lab-vault-pw"), id)
		os.WriteFile(p, b, 0o600)
		return p
	}
	inline, _ := vault.Encrypt([]byte("inline-Secret-1"), []byte("lab-vault-pw"), "")
	indented := "      " + strings.ReplaceAll(strings.TrimSpace(string(inline)), "\n", "\n      ")
	seal("secrets.yml", "db_pw: vaultfile-Secret-2\n", "")
	extra := seal("extra.yml", "extra_pw: extra-Secret-3\n", "prod")
	os.MkdirAll(filepath.Join(dir, "group_vars"), 0o755)
	seal(filepath.Join("group_vars", "all.yml"), "gv_pw: groupvars-Secret-4\n", "")
	inv := writeFile(t, dir, "hosts", "localhost ansible_connection=local\n")
	out := filepath.Join(dir, "out.txt")
	play := writeFile(t, dir, "play.yml", `- hosts: localhost
  gather_facts: false
  vars_files: [secrets.yml]
  vars:
    inline_pw: !vault |
`+indented+`
  tasks:
    - copy:
        dest: `+out+`
        content: "{{ .inline_pw }} {{ .db_pw }} {{ .extra_pw }} {{ .gv_pw }}\n"
    - debug:
        msg: "the values are {{ .inline_pw }} {{ .db_pw }} {{ .extra_pw }} {{ .gv_pw }}"
`)
	r := runMain(t, "", "play", play, "-i", inv, "--vault-password-file", pw, "--vault-id", "prod@"+pw, "-e", "@"+extra, "--diff", "-v")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	b, _ := os.ReadFile(out)
	if string(b) != "inline-Secret-1 vaultfile-Secret-2 extra-Secret-3 groupvars-Secret-4\n" {
		t.Errorf("the host got %q", b)
	}
	for _, s := range []string{"inline-Secret-1", "vaultfile-Secret-2", "extra-Secret-3", "groupvars-Secret-4"} {
		if strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("%s shows in the output:\n%s%s", s, r.stdout, r.stderr)
		}
	}
	if !strings.Contains(r.stdout, "the values are ********") {
		t.Errorf("the debug line is not masked as expected:\n%s", r.stdout)
	}

	// no secret, a wrong one: refused before any host, saying where and how
	r = runMain(t, "", "play", play, "-i", inv)
	if r.code == 0 || !strings.Contains(r.stderr, "--vault-password-file") || !strings.Contains(r.stderr, "secrets.yml") && !strings.Contains(r.stderr, "play.yml:5") {
		t.Errorf("no secret: exit %d\n%s", r.code, r.stderr)
	}
	bad := writeFile(t, dir, "bad", "nope\n")
	r = runMain(t, "", "play", play, "-i", inv, "--vault-password-file", bad)
	if r.code == 0 || !strings.Contains(r.stderr, "wrong password") {
		t.Errorf("a wrong secret: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(out); err == nil {
		os.Remove(out)
	}
	// a tag runbook does not know is refused with its position
	odd := writeFile(t, dir, "odd.yml", "- hosts: localhost\n  gather_facts: false\n  vars:\n    x: !secret abc\n  tasks: []\n")
	r = runMain(t, "", "play", odd, "-i", inv)
	if r.code == 0 || !strings.Contains(r.stderr, "odd.yml:4") || !strings.Contains(r.stderr, "unknown YAML tag !secret") {
		t.Errorf("an unknown tag: exit %d\n%s", r.code, r.stderr)
	}
}

// runbook vault's commands, and ansible-vault reading what they write.
func TestVaultCommands(t *testing.T) {
	dir := t.TempDir()
	pw := writeFile(t, dir, "pw", "cmd-pw\n")
	pw2 := writeFile(t, dir, "pw2", "cmd-pw-2\n")
	f := writeFile(t, dir, "f.yml", "a: 1\n")
	if r := runMain(t, "", "vault", "encrypt", f, "--vault-password-file", pw); r.code != 0 {
		t.Fatalf("encrypt: %d %s", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(f); !vault.IsVault(b) {
		t.Fatalf("not encrypted: %s", b)
	}
	if av, err := exec.LookPath("ansible-vault"); err == nil {
		if out, err := exec.Command(av, "view", f, "--vault-password-file", pw).Output(); err != nil || string(out) != "a: 1\n" {
			t.Errorf("ansible-vault view: %q %v", out, err)
		}
	}
	if r := runMain(t, "", "vault", "view", f, "--vault-password-file", pw); r.code != 0 || r.stdout != "a: 1\n" {
		t.Errorf("view: %d %q %s", r.code, r.stdout, r.stderr)
	}
	if r := runMain(t, "", "vault", "rekey", f, "--vault-password-file", pw, "--new-vault-password-file", pw2); r.code != 0 {
		t.Fatalf("rekey: %d %s", r.code, r.stderr)
	}
	if r := runMain(t, "", "vault", "view", f, "--vault-password-file", pw); r.code == 0 {
		t.Error("the old password still opens the rekeyed file")
	}
	if r := runMain(t, "", "vault", "decrypt", f, "--vault-password-file", pw2); r.code != 0 {
		t.Fatalf("decrypt: %d %s", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(f); string(b) != "a: 1\n" {
		t.Errorf("decrypted: %q", b)
	}
	r := runMain(t, "", "vault", "encrypt_string", "s3cr3t", "--name", "db_pw", "--vault-id", "prod@"+pw)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "db_pw: !vault |\n          $ANSIBLE_VAULT;1.2;AES256;prod\n") {
		t.Fatalf("encrypt_string: %d %q %s", r.code, r.stdout, r.stderr)
	}
	vars := writeFile(t, dir, "vars.yml", r.stdout)
	if av, err := exec.LookPath("ansible"); err == nil {
		// Ansible itself reads the !vault value runbook wrote
		out, err := exec.Command(av, "localhost", "-m", "debug", "-a", "var=db_pw", "-e", "@"+vars, "--vault-id", "prod@"+pw).CombinedOutput()
		if err != nil || !strings.Contains(string(out), `"db_pw": "s3cr3t"`) {
			t.Errorf("ansible reading runbook's !vault value: %v\n%s", err, out)
		}
	}
	if r := runMain(t, "", "vault", "encrypt", f); r.code == 0 || !strings.Contains(r.stderr, "no vault secret") {
		t.Errorf("encrypt without a secret: %d %s", r.code, r.stderr)
	}
}

package builtin_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/modules/builtin"
)

// File names as Ansible's apt_repository derives them (its documented
// examples and its _suggest_filename logic).
func TestSourceFileName(t *testing.T) {
	for line, want := range map[string]string{
		"deb http://archive.canonical.com/ubuntu hardy partner":                           "archive_canonical_com_ubuntu.list",
		"deb [arch=amd64] https://dl.google.com/linux/chrome/deb/ stable main":            "dl_google_com_linux_chrome_deb.list",
		"deb http://user:pw@repo.example.org/debian bookworm main":                        "repo_example_org_debian.list",
		"deb-src http://apt.postgresql.org/pub/repos/apt bookworm-pgdg main":              "apt_postgresql_org_pub_repos_apt.list",
		"deb [signed-by=/usr/share/keyrings/x.gpg] https://packages.x.io/deb stable main": "packages_x_io_deb.list",
	} {
		if got := builtin.SourceFileName(line, ""); got != want {
			t.Errorf("%s: %s, want %s", line, got, want)
		}
	}
	if got := builtin.SourceFileName("deb http://a/b c", "pgdg"); got != "pgdg.list" {
		t.Errorf("filename given: %s", got)
	}
}

// apt_key writes an armored key as a binary keyring, checks its id, and a
// second run changes nothing.
func TestAptKeyKeyring(t *testing.T) {
	if _, err := exec.LookPath("gpg"); err != nil {
		t.Skip("no gpg")
	}
	dir := t.TempDir()
	home := filepath.Join(dir, "gnupg")
	os.MkdirAll(home, 0o700)
	gen := exec.Command("gpg", "--batch", "--passphrase", "", "--quick-gen-key", "runbook test <t@example.org>", "ed25519", "sign", "never")
	gen.Env = append(os.Environ(), "GNUPGHOME="+home)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("gpg: %v %s", err, out)
	}
	exp := exec.Command("gpg", "--armor", "--export", "t@example.org")
	exp.Env = gen.Env
	armored, err := exp.Output()
	if err != nil || !strings.Contains(string(armored), "BEGIN PGP PUBLIC KEY BLOCK") {
		t.Fatalf("export: %v", err)
	}
	ls := exec.Command("gpg", "--with-colons", "--list-keys", "t@example.org")
	ls.Env = gen.Env
	out, _ := ls.Output()
	var fpr string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "fpr:") {
			fpr = strings.Split(l, ":")[9]
			break
		}
	}
	keyring := filepath.Join(dir, "test.gpg")
	args := map[string]any{"data": string(armored), "id": fpr[len(fpr)-16:], "keyring": keyring}
	for round := 0; round < 2; round++ {
		changed, err := runModuleChanged(t, "apt_key", args)
		if err != nil || changed != (round == 0) {
			t.Fatalf("round %d: changed=%v err=%v", round, changed, err)
		}
	}
	show := exec.Command("gpg", "--batch", "--show-keys", "--with-colons", keyring)
	show.Env = gen.Env
	if out, err := show.Output(); err != nil || !strings.Contains(string(out), fpr) {
		t.Errorf("the keyring does not hold the key: %v %s", err, out)
	}
	b, _ := os.ReadFile(keyring)
	if strings.Contains(string(b), "BEGIN PGP") {
		t.Error("the keyring is armored; apt wants it binary in trusted.gpg.d")
	}
	args["id"] = "DEADBEEFDEADBEEF"
	if _, err := runModuleChanged(t, "apt_key", args); err == nil || !strings.Contains(err.Error(), "no id") {
		t.Errorf("a key with another id: %v", err)
	}
}

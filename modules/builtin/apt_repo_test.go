package builtin_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
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
	// an impostor whose user id holds the wanted fingerprint, and a file
	// with the wanted key plus an extra one, are refused
	impostor := exec.Command("gpg", "--batch", "--passphrase", "", "--quick-gen-key", "impostor "+fpr+" <i@example.org>", "ed25519", "sign", "never")
	impostor.Env = gen.Env
	if out, err := impostor.CombinedOutput(); err != nil {
		t.Fatalf("gpg: %v %s", err, out)
	}
	expI := exec.Command("gpg", "--armor", "--export", "i@example.org")
	expI.Env = gen.Env
	impArmored, _ := expI.Output()
	for name, data := range map[string]string{"impostor": string(impArmored), "extra key": string(armored) + string(impArmored)} {
		kr := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".gpg")
		_, err := runModuleChanged(t, "apt_key", map[string]any{"data": data, "id": fpr, "keyring": kr})
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, statErr := os.Stat(kr); statErr == nil {
			t.Errorf("%s: a keyring was written", name)
		}
	}
}

// A PPA as Ansible's apt_repository adds it: the deb line for the codename
// in ppa_OWNER_NAME_CODENAME.list, the signing key's fingerprint from
// Launchpad's API and the key from the keyserver (both served here on
// loopback through RUNBOOK_LAUNCHPAD_API and RUNBOOK_KEYSERVER); a second
// run changes nothing; absent removes the line.
func TestAptRepositoryPPA(t *testing.T) {
	if _, err := exec.LookPath("gpg"); err != nil {
		t.Skip("no gpg")
	}
	if os.Geteuid() != 0 {
		t.Skip("writes /etc/apt: run as root")
	}
	home := filepath.Join(t.TempDir(), "gnupg")
	os.MkdirAll(home, 0o700)
	gpgEnv := append(os.Environ(), "GNUPGHOME="+home)
	gen := exec.Command("gpg", "--batch", "--passphrase", "", "--quick-gen-key", "runbook ppa <ppa@example.org>", "ed25519", "sign", "never")
	gen.Env = gpgEnv
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("gpg: %v %s", err, out)
	}
	exp := exec.Command("gpg", "--armor", "--export", "ppa@example.org")
	exp.Env = gpgEnv
	armored, _ := exp.Output()
	ls := exec.Command("gpg", "--with-colons", "--list-keys", "ppa@example.org")
	ls.Env = gpgEnv
	out, _ := ls.Output()
	var fpr string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "fpr:") && fpr == "" {
			fpr = strings.Split(l, ":")[9]
		}
	}
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.Path)
		switch {
		case r.URL.Path == "/~rbtest/+archive/tools" && r.Header.Get("Accept") == "application/json":
			fmt.Fprintf(w, `{"signing_key_fingerprint": %q, "name": "tools"}`, fpr)
		case r.URL.Path == "/pks/lookup" && r.URL.Query().Get("search") == "0x"+fpr:
			w.Write(armored)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	t.Setenv("RUNBOOK_LAUNCHPAD_API", srv.URL)
	t.Setenv("RUNBOOK_KEYSERVER", srv.URL)
	list, keyring := "/etc/apt/sources.list.d/ppa_rbtest_tools_noble.list", "/etc/apt/trusted.gpg.d/ppa_rbtest_tools.gpg"
	t.Cleanup(func() { os.Remove(list); os.Remove(keyring) })

	args := map[string]any{"repo": "ppa:rbtest/tools", "codename": "noble", "update_cache": false}
	for round := 0; round < 2; round++ {
		changed, err := runModuleChanged(t, "apt_repository", args)
		if err != nil || changed != (round == 0) {
			t.Fatalf("round %d: changed=%v err=%v (asked %v)", round, changed, err, asked)
		}
	}
	if b, err := os.ReadFile(list); err != nil || strings.TrimSpace(string(b)) != "deb http://ppa.launchpad.net/rbtest/tools/ubuntu noble main" {
		t.Errorf("%s: %v %q", list, err, b)
	}
	show := exec.Command("gpg", "--batch", "--show-keys", "--with-colons", keyring)
	show.Env = gpgEnv
	if out, err := show.Output(); err != nil || !strings.Contains(string(out), fpr) {
		t.Errorf("the keyring does not hold the PPA's key: %v %s", err, out)
	}
	args["state"] = "absent"
	if changed, err := runModuleChanged(t, "apt_repository", args); err != nil || !changed {
		t.Errorf("absent: changed=%v err=%v", changed, err)
	}
	if _, err := os.Stat(list); !os.IsNotExist(err) {
		t.Errorf("absent left %s", list)
	}
	if _, err := runModuleChanged(t, "apt_repository", map[string]any{"repo": "ppa:rbtest/missing", "codename": "noble", "update_cache": false}); err == nil || !strings.Contains(err.Error(), "PPA information") {
		t.Errorf("a PPA Launchpad does not know: %v", err)
	}
}

package builtin_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// rpmHas says whether rpm's database has the key with this short id.
func rpmHas(short string) bool {
	return exec.Command("rpm", "-q", "gpg-pubkey-"+short).Run() == nil
}

// The same steps by Ansible and by runbook on a fresh key (import, again,
// by id absent, again): the same changed flags, and rpm's database as
// each step leaves it.
func TestRpmKeyMatchesAnsible(t *testing.T) {
	for _, tool := range []string{"ansible-playbook", "rpm", "gpg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (make test-deps installs it)", tool)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("changes rpm's database")
	}
	dir := t.TempDir()
	home := filepath.Join(dir, "gnupg")
	os.MkdirAll(home, 0o700)
	gen := exec.Command("gpg", "--homedir", home, "--batch", "--passphrase", "", "--quick-gen-key", "runbook test <rpm-key-test@example.org>", "rsa2048", "sign", "never")
	if out, err := gen.CombinedOutput(); err != nil {
		t.Skipf("gpg cannot make a key here: %v %s", err, out)
	}
	out, err := exec.Command("gpg", "--homedir", home, "--armor", "--export", "rpm-key-test@example.org").Output()
	if err != nil || len(out) == 0 {
		t.Fatalf("export: %v", err)
	}
	keyFile := filepath.Join(dir, "key.asc")
	os.WriteFile(keyFile, out, 0o644)
	list, _ := exec.Command("gpg", "--homedir", home, "--with-colons", "--list-keys", "rpm-key-test@example.org").Output()
	var long string
	for _, l := range strings.Split(string(list), "\n") {
		if f := strings.Split(l, ":"); f[0] == "pub" {
			long = f[4]
		}
	}
	short := strings.ToLower(long[len(long)-8:])
	t.Cleanup(func() { exec.Command("rpm", "--erase", "--allmatches", "gpg-pubkey-"+short).Run() })
	steps := []map[string]any{
		{"key": keyFile},
		{"key": keyFile},
		{"key": long, "state": "absent"},
		{"key": keyFile, "state": "absent"},
	}
	var tasks []map[string]any
	for _, s := range steps {
		tasks = append(tasks, map[string]any{"rpm_key": s})
	}
	want := ansiblePlay(t, dir, tasks)
	if rpmHas(short) {
		t.Fatal("Ansible's steps left the key in rpm's database")
	}
	for i, s := range steps {
		changed, err := runModuleChanged(t, "rpm_key", s)
		if err != nil {
			t.Fatalf("step %d %v: %v", i, s, err)
		}
		if wc, _ := want[i]["changed"].(bool); wc != changed {
			t.Errorf("step %d %v: runbook changed=%v, Ansible %v", i, s, changed, wc)
		}
		if i == 0 && !rpmHas(short) {
			t.Error("not imported")
		}
	}
	if rpmHas(short) {
		t.Error("still in rpm's database after state absent")
	}
}

// A server that answers with another key the second time, or a file with
// an extra key, gets nothing imported: what is imported is what was
// checked.
func TestRpmKeyImportsOnlyTheCheckedKey(t *testing.T) {
	for _, tool := range []string{"rpm", "gpg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (make test-deps installs it)", tool)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("changes rpm's database")
	}
	dir := t.TempDir()
	home := filepath.Join(dir, "gnupg")
	os.MkdirAll(home, 0o700)
	key := func(email string) (armored []byte, fpr, short string) {
		gen := exec.Command("gpg", "--homedir", home, "--batch", "--passphrase", "", "--quick-gen-key", "runbook test <"+email+">", "rsa2048", "sign", "never")
		if out, err := gen.CombinedOutput(); err != nil {
			t.Skipf("gpg cannot make a key here: %v %s", err, out)
		}
		armored, _ = exec.Command("gpg", "--homedir", home, "--armor", "--export", email).Output()
		list, _ := exec.Command("gpg", "--homedir", home, "--with-colons", "--list-keys", email).Output()
		pub := false
		for _, l := range strings.Split(string(list), "\n") {
			f := strings.Split(l, ":")
			switch {
			case f[0] == "pub":
				short, pub = strings.ToLower(f[4][len(f[4])-8:]), true
			case f[0] == "fpr" && pub && fpr == "":
				fpr = f[9]
			}
		}
		return armored, fpr, short
	}
	a, aFpr, aShort := key("rpm-key-a@example.org")
	b, _, bShort := key("rpm-key-b@example.org")
	t.Cleanup(func() {
		exec.Command("rpm", "--erase", "--allmatches", "gpg-pubkey-"+aShort).Run()
		exec.Command("rpm", "--erase", "--allmatches", "gpg-pubkey-"+bShort).Run()
	})
	var served int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served++
		if served == 1 {
			w.Write(a)
		} else {
			w.Write(b)
		}
	}))
	defer srv.Close()
	if _, err := runModuleChanged(t, "rpm_key", map[string]any{"key": srv.URL + "/key.asc", "fingerprint": aFpr}); err == nil {
		t.Errorf("a key that changed between check and import was imported")
	}
	both := filepath.Join(dir, "both.asc")
	os.WriteFile(both, append(append([]byte{}, a...), b...), 0o644)
	if _, err := runModuleChanged(t, "rpm_key", map[string]any{"key": both, "fingerprint": aFpr}); err == nil {
		t.Errorf("a file with an extra key was imported")
	}
	if rpmHas(bShort) || rpmHas(aShort) {
		t.Errorf("imported: a=%v b=%v", rpmHas(aShort), rpmHas(bShort))
	}
}

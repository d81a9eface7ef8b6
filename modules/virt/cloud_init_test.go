package virt_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/internal/testrig/testenv"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/modules/virt"
)

// A real NoCloud seed: genisoimage writes it, isoinfo reads it back, a
// second run changes nothing, a changed key rewrites it.
func TestCloudInitSeedForReal(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	for _, tool := range []string{"genisoimage", "isoinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.SkipOrFail(t, "no %s (apt-get install genisoimage)", tool)
		}
	}
	ctx := context.Background()
	seed := filepath.Join(t.TempDir(), "seed.iso")
	c := &virt.CloudInit{Path: seed, Hostname: "postgres1", SSHAuthorizedKeys: modules.StringList{"ssh-ed25519 AAAAkey lab"},
		NetworkConfig: "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n"}
	if r, err := modules.Execute(ctx, c, env(t, true)); err != nil || !r.Changed {
		t.Fatalf("check: %+v %v", r, err)
	}
	if _, err := os.Stat(seed); err == nil {
		t.Fatal("check mode wrote the seed")
	}
	if r, err := modules.Execute(ctx, c, env(t, false)); err != nil || !r.Changed {
		t.Fatalf("write: %+v %v", r, err)
	}
	label, _ := exec.Command("isoinfo", "-d", "-i", seed).Output()
	if !strings.Contains(string(label), "Volume id: cidata") {
		t.Errorf("volume label:\n%s", label)
	}
	ud, _ := exec.Command("isoinfo", "-R", "-i", seed, "-x", "/user-data").Output()
	if !strings.HasPrefix(string(ud), "#cloud-config\n") || !strings.Contains(string(ud), "hostname: postgres1") || !strings.Contains(string(ud), "ssh-ed25519 AAAAkey lab") {
		t.Errorf("user-data:\n%s", ud)
	}
	md, _ := exec.Command("isoinfo", "-R", "-i", seed, "-x", "/meta-data").Output()
	if !strings.Contains(string(md), "instance-id: postgres1") {
		t.Errorf("meta-data:\n%s", md)
	}
	if r, err := modules.Execute(ctx, c, env(t, false)); err != nil || r.Changed {
		t.Errorf("second run changed: %+v %v", r, err)
	}
	c.SSHAuthorizedKeys = modules.StringList{"ssh-ed25519 BBBBother lab"}
	if r, err := modules.Execute(ctx, c, env(t, false)); err != nil || !r.Changed {
		t.Errorf("a new key did not rewrite the seed: %+v %v", r, err)
	}
}

// The boot script the lab's own image runs instead of cloud-init does what
// the generated user-data asks: run by a real /bin/sh into a directory,
// twice, with values that would break unquoted shell.
func TestCloudInitBootScriptDoesWhatUserDataSays(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"etc/ssh", "etc/apt/apt.conf.d", "etc/apt/sources.list.d"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "etc/hosts"), []byte("127.0.0.1 localhost\n127.0.1.1 old-name\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/ssh/ssh_host_rsa_key"), []byte("old"), 0o600)
	os.WriteFile(filepath.Join(root, "etc/apt/sources.list.d/debian.sources"), []byte("Types: deb\n"), 0o644)
	c := &virt.CloudInit{Path: "/unused", Hostname: "postgres1", SSHAuthorizedKeys: modules.StringList{"ssh-ed25519 AAAAkey lab's $(touch pwned)", "ssh-ed25519 BBBB two"},
		AptProxy: "http://192.168.100.1:3142", AptSources: "deb [trusted=yes] http://192.168.100.1:8080/ ./"}
	virt.SetHostKey(c, "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret`x`\n-----END OPENSSH PRIVATE KEY-----\n", "ssh-ed25519 CCCC host\n")
	files, err := c.Files()
	if err != nil {
		t.Fatal(err)
	}
	script := files[virt.BootScriptName]
	for i := 0; i < 2; i++ {
		cmd := exec.Command("/bin/sh", "-c", script)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "ROOT="+root)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("run %d: %v\n%s\n%s", i, err, out, script)
		}
	}
	read := func(p string) string { b, _ := os.ReadFile(filepath.Join(root, p)); return string(b) }
	want := map[string]string{
		"etc/hostname":                                   "postgres1\n",
		"etc/hosts":                                      "127.0.0.1 localhost\n127.0.1.1 postgres1\n",
		"root/.ssh/authorized_keys":                      "ssh-ed25519 AAAAkey lab's $(touch pwned)\nssh-ed25519 BBBB two\n",
		"etc/ssh/ssh_host_ed25519_key":                   "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret`x`\n-----END OPENSSH PRIVATE KEY-----\n",
		"etc/ssh/ssh_host_ed25519_key.pub":               "ssh-ed25519 CCCC host\n",
		"etc/apt/apt.conf.d/90runbook-proxy":             "Acquire::http::Proxy \"http://192.168.100.1:3142\";\n",
		"etc/apt/sources.list":                           "deb [trusted=yes] http://192.168.100.1:8080/ ./\n",
		"etc/apt/sources.list.d/debian.sources.disabled": "Types: deb\n",
	}
	for p, w := range want {
		if got := read(p); got != w {
			t.Errorf("%s = %q, want %q", p, got, w)
		}
	}
	for _, gone := range []string{"etc/ssh/ssh_host_rsa_key", "etc/apt/sources.list.d/debian.sources", "pwned"} {
		if _, err := os.Stat(filepath.Join(root, gone)); err == nil {
			t.Errorf("%s is there", gone)
		}
	}
	if st, err := os.Stat(filepath.Join(root, "etc/ssh/ssh_host_ed25519_key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("host key mode: %v %v", st.Mode(), err)
	}
	if st, err := os.Stat(filepath.Join(root, "root/.ssh")); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("/root/.ssh mode: %v %v", st.Mode(), err)
	}
	// a seed with its own user-data or packages is cloud-init's to apply
	c2 := &virt.CloudInit{Path: "/unused", Hostname: "x", Packages: modules.StringList{"htop"}}
	if f, _ := c2.Files(); f[virt.BootScriptName] != "" {
		t.Error("a seed with packages has a boot script")
	}
}

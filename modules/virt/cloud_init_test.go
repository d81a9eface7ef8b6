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

package virt_test

import (
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/modules/virt"
)

func TestVirtInstallDesiredXML(t *testing.T) {
	v := &virt.VirtInstall{Name: "postgres1", Memory: "2G", VCPUs: 2, TCGVCPUs: 1, Disk: "/i/p1.qcow2", Seed: "/i/p1-seed.iso",
		Network: "internal-net", MAC: "52:54:00:64:00:0B", TBCacheMB: 128, Kernel: "/i/vmlinuz", Initrd: "/i/initrd", Cmdline: "root=/dev/vda"}
	if err := v.Validate(); err == nil {
		t.Error("Validate passed without state and virt_type") // zero values: the registry sets defaults
	}
	v.State, v.VirtType = "running", "auto"
	if err := v.Validate(); err != nil {
		t.Fatal(err)
	}
	for virtType, want := range map[string][]string{
		"qemu": {"<domain type=\"qemu\">", "<tb-cache unit=\"MiB\">128</tb-cache>", "<vcpu>1</vcpu>", "<memory unit=\"MiB\">2048</memory>"},
		"kvm":  {"<domain type=\"kvm\">", "host-passthrough", "<vcpu>2</vcpu>"},
	} {
		x, err := v.Desired(virtType).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range append(want, "<mac address=\"52:54:00:64:00:0b\">", "<kernel>/i/vmlinuz</kernel>", "<cmdline>root=/dev/vda</cmdline>",
			"<source network=\"internal-net\">", "<source file=\"/i/p1-seed.iso\">", "<readonly>", "postgres1-console.log") {
			if !strings.Contains(x, w) {
				t.Errorf("%s: %q missing from\n%s", virtType, w, x)
			}
		}
		if virtType == "kvm" && strings.Contains(x, "tb-cache") {
			t.Error("kvm with a TCG cache setting")
		}
	}
	bad := &virt.VirtInstall{Name: "x", Disk: "/d", Memory: "1G", VCPUs: 1, State: "running", VirtType: "xen"}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "kvm, qemu or auto") {
		t.Errorf("bad virt_type: %v", err)
	}
	bad = &virt.VirtInstall{Name: "x", Disk: "/d", Memory: "1G", VCPUs: 1, State: "running", VirtType: "qemu", Cmdline: "quiet"}
	if err := bad.Validate(); err == nil {
		t.Error("cmdline without kernel accepted")
	}
}

func TestVirtTypeChoice(t *testing.T) {
	if vt, why := virt.ChooseVirtType(true); vt != "kvm" || why != "" {
		t.Errorf("with /dev/kvm: %s %q", vt, why)
	}
	if vt, why := virt.ChooseVirtType(false); vt != "qemu" || !strings.Contains(why, "no /dev/kvm") {
		t.Errorf("without /dev/kvm: %s %q", vt, why)
	}
	// what QEMU says when KVM is there but cannot run the guest
	for log, want := range map[string]string{
		"char device redirected\nerror: kvm run failed Bad address\nKVM internal error. Suberror: 1\n":                   "KVM internal error. Suberror: 1",
		"qemu-system-x86_64: error: failed to set MSR 0x10a to 0x0\n":                                                    "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x0",
		"Could not access KVM kernel module: Permission denied\n-accel kvm: failed to initialize kvm: Permission denied": "-accel kvm: failed to initialize kvm: Permission denied",
		"": "state 5 reason 5",
	} {
		if got := virt.DeathReason("state 5 reason 5", log); got != want {
			t.Errorf("DeathReason(%q) = %q, want %q", log, got, want)
		}
	}
}

package testlab_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
	"libvirt.org/go/libvirtxml"

	"github.com/runbook-lab/runbook/internal/cli"
	"github.com/runbook-lab/runbook/internal/diag"
	"github.com/runbook-lab/runbook/internal/testrig/testlab"
	"github.com/runbook-lab/runbook/inventory"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/modules/virt"
	"github.com/runbook-lab/runbook/transport"
)

// connect opens a go-libvirt connection to the lab's libvirtd, closed when
// the test ends. The mock driver keeps its state only while a connection
// to it is open, so tests of modules (which open their own) hold one.
func connect(t *testing.T, uri libvirt.ConnectURI) *libvirt.Libvirt {
	t.Helper()
	c, err := net.Dial("unix", testlab.LibvirtSocket)
	if err != nil {
		t.Fatal(err)
	}
	l := libvirt.NewWithDialer(dialers.NewAlreadyConnected(c))
	if err := l.ConnectToURI(uri); err != nil {
		t.Fatalf("connect %s: %v", uri, err)
	}
	t.Cleanup(func() { l.Disconnect() })
	return l
}

// libvirtd runs inside the lab namespace and go-libvirt (pure Go) reaches
// it over its socket: the mock driver for exact tests, qemu:///system for
// real VMs.
func TestLibvirtdInTheLabNamespace(t *testing.T) {
	testlab.Libvirtd(t)
	mock := connect(t, libvirt.TestDefault)
	netXML, err := (&libvirtxml.Network{Name: "internal-net", Bridge: &libvirtxml.NetworkBridge{Name: "virbr10"},
		IPs: []libvirtxml.NetworkIP{{Address: "192.168.100.1", Netmask: "255.255.255.0",
			DHCP: &libvirtxml.NetworkDHCP{Ranges: []libvirtxml.NetworkDHCPRange{{Start: "192.168.100.100", End: "192.168.100.200"}}}}}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	n, err := mock.NetworkDefineXML(netXML)
	if err != nil {
		t.Fatalf("define on the mock driver: %v", err)
	}
	got, err := mock.NetworkGetXMLDesc(n, 0)
	if err != nil {
		t.Fatal(err)
	}
	var back libvirtxml.Network
	if err := back.Unmarshal(got); err != nil || back.Bridge.Name != "virbr10" || back.IPs[0].DHCP.Ranges[0].End != "192.168.100.200" {
		t.Errorf("network read back: %v %+v", err, back)
	}
	if err := mock.NetworkCreate(n); err != nil {
		t.Errorf("start on the mock driver: %v", err)
	}
	if active, err := mock.NetworkIsActive(n); err != nil || active != 1 {
		t.Errorf("active = %d, %v", active, err)
	}
	sys := connect(t, libvirt.QEMUSystem)
	if _, _, err := sys.ConnectListAllNetworks(1, 0); err != nil {
		t.Errorf("qemu:///system: %v", err)
	}
}

// virsh_net against libvirt's mock driver through the lab's real libvirtd:
// define, start and autostart; a second run changes nothing; a changed DHCP
// range is a diff and a restart warning; check mode changes nothing; absent
// removes it.
func TestVirshNetOnTheMockDriver(t *testing.T) {
	testlab.Libvirtd(t)
	ctx := context.Background()
	al := connect(t, libvirt.TestDefault) // keeps the mock driver's state
	var warnings []string
	env := func(check bool) *modules.Env {
		return &modules.Env{Host: &transport.Local{HostName: "hypervisor"}, Check: check, Diff: true,
			Warn: func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) }}
	}
	yes := true
	n := &virt.VirshNet{URI: "test:///default", Socket: testlab.LibvirtSocket, Name: "rb-internal-net", Bridge: "virbr10",
		Address: "192.168.100.1", Netmask: "255.255.255.0", DHCPStart: "192.168.100.100", DHCPEnd: "192.168.100.200",
		Hosts:   []virt.DHCPHostArg{{MAC: "52:54:00:00:00:11", IP: "192.168.100.11", Name: "postgres1"}},
		Forward: "none", Autostart: &yes, State: "active"}
	defer modules.Execute(ctx, &virt.VirshNet{URI: "test:///default", Socket: testlab.LibvirtSocket, Name: "rb-internal-net", State: "absent", Forward: "none"}, env(false))
	if r, err := modules.Execute(ctx, n, env(true)); err != nil || r.Msg != "define, start, autostart true" {
		t.Fatalf("check: %+v %v", r, err)
	}
	if _, err := al.NetworkLookupByName("rb-internal-net"); err == nil {
		t.Fatal("check mode defined the network")
	}
	r, err := modules.Execute(ctx, n, env(false))
	if err != nil || !r.Changed || r.Msg != "define, start, autostart true" {
		t.Fatalf("first run: %+v %v", r, err)
	}
	if r, err := modules.Execute(ctx, n, env(false)); err != nil || r.Changed {
		t.Fatalf("second run: %+v %v", r, err)
	}
	n.DHCPEnd = "192.168.100.150"
	if r, err := modules.Execute(ctx, n, env(true)); err != nil || !r.Changed {
		t.Fatalf("check of a change: %+v %v", r, err)
	}
	r, err = modules.Execute(ctx, n, env(false))
	if err != nil || r.Msg != "redefine" || len(r.Diffs) != 1 || !strings.Contains(r.Diffs[0].After, "192.168.100.150") || r.Data["restart_required"] != true {
		t.Fatalf("redefine: %+v %v", r, err)
	}
	if len(warnings) == 0 || !strings.Contains(warnings[0], "restarted") {
		t.Errorf("no restart warning: %v", warnings)
	}
	// stop it, as the warning says; the module starts it with the new
	// definition, and then has nothing left to do
	ln, err := al.NetworkLookupByName("rb-internal-net")
	if err != nil || al.NetworkDestroy(ln) != nil {
		t.Fatalf("stop: %v", err)
	}
	if r, err := modules.Execute(ctx, n, env(false)); err != nil || !strings.HasSuffix(r.Msg, "start") {
		t.Fatalf("start after the stop: %+v %v", r, err)
	}
	if r, err := modules.Execute(ctx, n, env(false)); err != nil || r.Changed {
		t.Fatalf("after redefine and restart: %+v %v", r, err)
	}
	gone := &virt.VirshNet{URI: "test:///default", Socket: testlab.LibvirtSocket, Name: "rb-internal-net", State: "absent", Forward: "none"}
	if r, err := modules.Execute(ctx, gone, env(false)); err != nil || !r.Changed {
		t.Fatalf("absent: %+v %v", r, err)
	}
	if r, err := modules.Execute(ctx, gone, env(false)); err != nil || r.Changed {
		t.Fatalf("absent again: %+v %v", r, err)
	}
}

// virt_install against the mock driver: define and start, a second run
// changes nothing, a changed memory size is a diff and a restart warning
// (not applied to the running guest), shutoff, absent. The address comes
// from the network's reservation for the VM's MAC.
func TestVirtInstallOnTheMockDriver(t *testing.T) {
	testlab.Libvirtd(t)
	ctx := context.Background()
	mock := connect(t, libvirt.TestDefault) // keeps the mock driver's state
	var warnings []string
	env := func(check bool) *modules.Env {
		return &modules.Env{Host: &transport.Local{HostName: "hypervisor"}, Check: check, Diff: true,
			Warn: func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) }}
	}
	yes := true
	net := &virt.VirshNet{URI: "test:///default", Socket: testlab.LibvirtSocket, Name: "rb-vm-net", Address: "192.168.100.1",
		Netmask: "255.255.255.0", Hosts: []virt.DHCPHostArg{{MAC: "52:54:00:64:00:0b", IP: "192.168.100.11", Name: "postgres1"}},
		Forward: "none", State: "active"}
	if _, err := modules.Execute(ctx, net, env(false)); err != nil {
		t.Fatal(err)
	}
	vm := &virt.VirtInstall{URI: "test:///default", Socket: testlab.LibvirtSocket, Name: "rb-postgres1", Memory: "1G", VCPUs: 1,
		Disk: "/var/lib/libvirt/images/rb-postgres1.qcow2", Network: "rb-vm-net", MAC: "52:54:00:64:00:0B", VirtType: "qemu",
		TBCacheMB: 128, Kernel: "/img/vmlinuz", Initrd: "/img/initrd", Cmdline: "root=/dev/vda", Autostart: &yes, State: "running", Watch: 1}
	if r, err := modules.Execute(ctx, vm, env(true)); err != nil || r.Msg != "define, start, autostart true" || len(r.Diffs) != 1 || !strings.Contains(r.Diffs[0].After, "memory: 1024 MiB") {
		t.Fatalf("check: %+v %v", r, err)
	}
	if _, err := mock.DomainLookupByName("rb-postgres1"); err == nil {
		t.Fatal("check mode defined the domain")
	}
	r, err := modules.Execute(ctx, vm, env(false))
	if err != nil || r.Msg != "define, start (software emulation, qemu/TCG), autostart true" || r.Data["address"] != "192.168.100.11" || r.Data["virt_type"] != "qemu" {
		t.Fatalf("first run: %+v %v", r, err)
	}
	if r, err := modules.Execute(ctx, vm, env(false)); err != nil || r.Changed {
		t.Fatalf("second run: %+v %v", r, err)
	}
	vm.Memory = "2G"
	r, err = modules.Execute(ctx, vm, env(false))
	if err != nil || r.Msg != "redefine" || r.Data["restart_required"] != true || !strings.Contains(r.Diffs[0].Before, "memory: 1024 MiB") ||
		!strings.Contains(r.Diffs[0].After, "memory: 2048 MiB") {
		t.Fatalf("redefine: %+v %v", r, err)
	}
	if len(warnings) == 0 || !strings.Contains(warnings[len(warnings)-1], "shut down and started again") {
		t.Errorf("no restart warning: %v", warnings)
	}
	if r, err := modules.Execute(ctx, vm, env(false)); err != nil || r.Changed {
		t.Fatalf("after redefine: %+v %v", r, err)
	}
	vm.State = "shutoff"
	if r, err := modules.Execute(ctx, vm, env(false)); err != nil || r.Msg != "shut down" {
		t.Fatalf("shutoff: %+v %v", r, err)
	}
	gone := &virt.VirtInstall{URI: "test:///default", Socket: testlab.LibvirtSocket, Name: "rb-postgres1", State: "absent"}
	if r, err := modules.Execute(ctx, gone, env(false)); err != nil || !r.Changed {
		t.Fatalf("absent: %+v %v", r, err)
	}
	if r, err := modules.Execute(ctx, gone, env(false)); err != nil || r.Changed {
		t.Fatalf("absent again: %+v %v", r, err)
	}
}

// runbook inventory --from-libvirt reads a network's DHCP reservations into
// an inventory that runbook itself loads.
func TestInventoryFromLibvirt(t *testing.T) {
	testlab.Libvirtd(t)
	al := connect(t, libvirt.TestDefault)
	x, _ := (&libvirtxml.Network{Name: "rb-inv-net", IPs: []libvirtxml.NetworkIP{{Address: "192.168.100.1", Netmask: "255.255.255.0",
		DHCP: &libvirtxml.NetworkDHCP{Hosts: []libvirtxml.NetworkDHCPHost{
			{MAC: "52:54:00:00:00:12", IP: "192.168.100.12", Name: "postgres2"},
			{MAC: "52:54:00:00:00:11", IP: "192.168.100.11", Name: "postgres1"}}}}}}).Marshal()
	n, err := al.NetworkDefineXML(x)
	if err != nil {
		t.Fatal(err)
	}
	defer al.NetworkUndefine(n)
	var out, errb bytes.Buffer
	code := cli.Main([]string{"inventory", "--from-libvirt", "rb-inv-net", "--libvirt-uri", "test:///default", "--libvirt-socket", testlab.LibvirtSocket},
		strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	inv, err := inventory.Parse(&diag.Source{Name: "from-libvirt", Text: out.Bytes()}, "")
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if got := inv.HostVars("postgres1")["ansible_host"]; got != "192.168.100.11" {
		t.Errorf("postgres1: %v\n%s", got, out.String())
	}
	if hs := inv.Hosts(); len(hs) != 2 || hs[0] != "postgres1" {
		t.Errorf("hosts %v", hs)
	}
}

// An explicit virt_type kvm where KVM cannot run a guest (these machines)
// fails with QEMU's reason and a hint, not a dead domain reported as
// started.
func TestVirtTypeKVMFailsClearly(t *testing.T) {
	testlab.Libvirtd(t)
	if _, err := os.Stat("/dev/kvm"); err != nil {
		t.Skip("no /dev/kvm here: nothing to fail")
	}
	ctx := context.Background()
	// where QEMU (its own user) may open it, so that KVM is what fails
	os.MkdirAll("/var/lib/libvirt/images", 0o711)
	disk := "/var/lib/libvirt/images/rb-kvm-probe.qcow2"
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", disk, "64M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v %s", err, out)
	}
	defer os.Remove(disk)
	env := &modules.Env{Host: &transport.Local{HostName: "hypervisor"}}
	vm := &virt.VirtInstall{URI: "qemu:///system", Socket: testlab.LibvirtSocket, Name: "rb-kvm-probe", Memory: "128M", VCPUs: 1,
		Disk: disk, VirtType: "kvm", State: "running", Watch: 3}
	defer modules.Execute(ctx, &virt.VirtInstall{URI: "qemu:///system", Socket: testlab.LibvirtSocket, Name: "rb-kvm-probe", State: "absent"}, env)
	r, err := modules.Execute(ctx, vm, env)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Failed || !strings.Contains(r.Msg, "died at start") || !strings.Contains(strings.ToLower(r.Msg), "kvm:") || !strings.Contains(r.Msg, "use virt_type qemu") {
		t.Fatalf("kvm on a host where it cannot work: %+v", r)
	}
	t.Logf("%s", r.Msg)
}

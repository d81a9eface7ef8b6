package testlab_test

import (
	"net"
	"testing"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
	"libvirt.org/go/libvirtxml"

	"github.com/runbook-lab/runbook/internal/testlab"
)

// libvirtd runs inside the lab namespace and go-libvirt (pure Go) reaches
// it over its socket: the mock driver for exact tests, qemu:///system for
// real VMs.
func TestLibvirtdInTheLabNamespace(t *testing.T) {
	testlab.Libvirtd(t)
	connect := func(uri libvirt.ConnectURI) *libvirt.Libvirt {
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
	mock := connect(libvirt.TestDefault)
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
	sys := connect(libvirt.QEMUSystem)
	if _, _, err := sys.ConnectListAllNetworks(1, 0); err != nil {
		t.Errorf("qemu:///system: %v", err)
	}
}

package virt

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
	"libvirt.org/go/libvirtxml"

	"github.com/runbook-lab/runbook/hostexec"
	"github.com/runbook-lab/runbook/modules"
)

// SocketDialer is implemented by hosts that can open a unix socket on the
// machine (locally, or through the SSH connection): how the libvirt modules
// reach libvirtd, with no libvirt client library in C.
type SocketDialer = hostexec.SocketDialer

// VirshNet manages a libvirt network: bridge, address, DHCP range and
// reservations, forward mode, autostart, state.
type VirshNet struct {
	URI       string        `yaml:"uri" doc:"libvirt connection URI" default:"qemu:///system"`
	Socket    string        `yaml:"socket" doc:"libvirtd's socket on the host" default:"/run/libvirt/libvirt-sock"`
	Name      string        `yaml:"name" doc:"network name"`
	Bridge    string        `yaml:"bridge" doc:"bridge device"`
	Address   string        `yaml:"address" doc:"the host's address on the network"`
	Netmask   string        `yaml:"netmask" doc:"netmask" default:"255.255.255.0"`
	DHCPStart string        `yaml:"dhcp_start" doc:"first DHCP address"`
	DHCPEnd   string        `yaml:"dhcp_end" doc:"last DHCP address"`
	Hosts     []DHCPHostArg `yaml:"hosts" doc:"reservations: mac, ip, name"`
	Forward   string        `yaml:"forward" doc:"none (isolated) or nat" default:"none"`
	Autostart *bool         `yaml:"autostart" doc:"start with libvirtd"`
	State     string        `yaml:"state" doc:"present (defined), active (defined and running) or absent" default:"active"`
}

// DHCPHostArg is one DHCP reservation.
type DHCPHostArg struct {
	MAC  string `yaml:"mac" doc:"MAC address"`
	IP   string `yaml:"ip" doc:"reserved address"`
	Name string `yaml:"name" doc:"host name"`
}

func init() {
	modules.Register(modules.Info{ID: "virsh_net", Summary: "A libvirt network (bridge, address, DHCP range and reservations, forward mode, autostart), compared field by field, redefined only when it differs.",
		Example: "virsh_net:\n  name: internal-net\n  bridge: virbr10\n  address: 192.168.100.1\n  dhcp_start: 192.168.100.100\n  dhcp_end: 192.168.100.200\n  hosts:\n    - {mac: \"52:54:00:00:00:11\", ip: 192.168.100.11, name: postgres1}",
		New: func() modules.Module {
			return &VirshNet{URI: "qemu:///system", Socket: "/run/libvirt/libvirt-sock", Netmask: "255.255.255.0", Forward: "none", State: "active"}
		}})
}

// Validate checks the arguments.
func (v *VirshNet) Validate() error {
	if v.Name == "" {
		return errors.New("virsh_net: name is required")
	}
	switch v.State {
	case "present", "active", "absent":
	default:
		return fmt.Errorf("virsh_net: state must be present, active or absent, got %q", v.State)
	}
	if v.Forward != "none" && v.Forward != "nat" {
		return fmt.Errorf("virsh_net: forward must be none or nat, got %q", v.Forward)
	}
	if v.State != "absent" && v.Address == "" {
		return errors.New("virsh_net: address is required")
	}
	return nil
}

// Desired is the network the arguments describe (pure, table-tested).
func (v *VirshNet) Desired() *libvirtxml.Network {
	n := &libvirtxml.Network{Name: v.Name}
	if v.Bridge != "" {
		n.Bridge = &libvirtxml.NetworkBridge{Name: v.Bridge}
	}
	if v.Forward == "nat" {
		n.Forward = &libvirtxml.NetworkForward{Mode: "nat"}
	}
	ip := libvirtxml.NetworkIP{Address: v.Address, Netmask: v.Netmask}
	if v.DHCPStart != "" || len(v.Hosts) > 0 {
		ip.DHCP = &libvirtxml.NetworkDHCP{}
		if v.DHCPStart != "" {
			ip.DHCP.Ranges = []libvirtxml.NetworkDHCPRange{{Start: v.DHCPStart, End: v.DHCPEnd}}
		}
		for _, h := range v.Hosts {
			ip.DHCP.Hosts = append(ip.DHCP.Hosts, libvirtxml.NetworkDHCPHost{MAC: strings.ToLower(h.MAC), IP: h.IP, Name: h.Name})
		}
	}
	n.IPs = []libvirtxml.NetworkIP{ip}
	return n
}

// netFields is what runbook manages of a network, for comparison.
type netFields struct {
	Bridge, Forward, Address, Netmask, Start, End string
	Hosts                                         []DHCPHostArg
}

func fieldsOf(n *libvirtxml.Network) netFields {
	f := netFields{Forward: "none"}
	if n.Bridge != nil {
		f.Bridge = n.Bridge.Name
	}
	if n.Forward != nil && n.Forward.Mode != "" {
		f.Forward = n.Forward.Mode
	}
	if len(n.IPs) > 0 {
		ip := n.IPs[0]
		f.Address, f.Netmask = ip.Address, ip.Netmask
		if ip.DHCP != nil {
			if len(ip.DHCP.Ranges) > 0 {
				f.Start, f.End = ip.DHCP.Ranges[0].Start, ip.DHCP.Ranges[0].End
			}
			for _, h := range ip.DHCP.Hosts {
				f.Hosts = append(f.Hosts, DHCPHostArg{MAC: strings.ToLower(h.MAC), IP: h.IP, Name: h.Name})
			}
		}
	}
	return f
}

func (f netFields) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "bridge: %s\nforward: %s\naddress: %s/%s\ndhcp: %s - %s\n", f.Bridge, f.Forward, f.Address, f.Netmask, f.Start, f.End)
	for _, h := range f.Hosts {
		fmt.Fprintf(&b, "host: %s %s %s\n", h.MAC, h.IP, h.Name)
	}
	return b.String()
}

// Connect opens libvirt on the host through its socket.
func Connect(h modules.Host, socket, uri string) (*libvirt.Libvirt, error) {
	d, ok := h.(SocketDialer)
	if !ok {
		return nil, fmt.Errorf("%s: this connection cannot reach a unix socket", h.Name())
	}
	c, err := d.DialUnix(socket)
	if err != nil {
		return nil, fmt.Errorf("libvirtd on %s (%s): %w", h.Name(), socket, err)
	}
	l := libvirt.NewWithDialer(dialers.NewAlreadyConnected(c))
	if err := l.ConnectToURI(libvirt.ConnectURI(uri)); err != nil {
		c.Close()
		return nil, fmt.Errorf("libvirt %s on %s: %w", uri, h.Name(), err)
	}
	return l, nil
}

// Run plans the network's wanted state; Apply dials libvirtd again and
// carries the plan out.
func (v *VirshNet) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	l, err := Connect(env.Host, v.Socket, v.URI)
	if err != nil {
		return nil, err
	}
	defer l.Disconnect()
	res := &modules.Result{Data: map[string]any{"name": v.Name}}
	var changes []string
	var steps []func(l *libvirt.Libvirt) error
	lookup := func(l *libvirt.Libvirt) (libvirt.Network, error) { return l.NetworkLookupByName(v.Name) }
	net, lookupErr := lookup(l)
	exists := lookupErr == nil
	active := false
	if exists {
		a, err := l.NetworkIsActive(net)
		if err != nil {
			return nil, err
		}
		active = a == 1
	}
	if v.State == "absent" {
		if exists {
			changes = append(changes, "remove")
			steps = append(steps, func(l *libvirt.Libvirt) error {
				net, err := lookup(l)
				if err != nil {
					return err
				}
				if active {
					if err := l.NetworkDestroy(net); err != nil {
						return err
					}
				}
				return l.NetworkUndefine(net)
			})
		}
		return v.plan(env, finish(res, changes), steps), nil
	}
	want := v.Desired()
	redefine := !exists
	before := ""
	if exists {
		// the persistent definition, not the running one (drivers without
		// the flag, such as the mock driver, give the running one)
		x, err := l.NetworkGetXMLDesc(net, uint32(libvirt.NetworkXMLInactive))
		if err != nil {
			if x, err = l.NetworkGetXMLDesc(net, 0); err != nil {
				return nil, err
			}
		}
		var cur libvirtxml.Network
		if err := cur.Unmarshal(x); err != nil {
			return nil, err
		}
		want.UUID = cur.UUID // a redefinition keeps the network's identity
		cf, wf := fieldsOf(&cur), fieldsOf(want)
		if !reflect.DeepEqual(cf, wf) {
			redefine, before = true, cf.String()
			if wf.Bridge == "" { // libvirt names a bridge when none is given
				wf.Bridge = cf.Bridge
				redefine = !reflect.DeepEqual(cf, wf)
			}
		}
	}
	if redefine {
		changes = append(changes, map[bool]string{true: "redefine", false: "define"}[exists])
		res.Diffs = []modules.Diff{{Path: "network " + v.Name, Before: before, After: fieldsOf(want).String()}}
		if exists && active {
			res.Data["restart_required"] = true
			if env.Warn != nil {
				env.Warn("network %s runs with its old definition until it is restarted (guests lose their link meanwhile)", v.Name)
			}
		}
		x, err := want.Marshal()
		if err != nil {
			return nil, err
		}
		steps = append(steps, func(l *libvirt.Libvirt) error {
			if _, err := l.NetworkDefineXML(x); err != nil {
				return fmt.Errorf("defining network %s: %w", v.Name, err)
			}
			return nil
		})
	}
	if v.State == "active" && !active {
		changes = append(changes, "start")
		steps = append(steps, func(l *libvirt.Libvirt) error {
			net, err := lookup(l)
			if err == nil {
				err = l.NetworkCreate(net)
			}
			if err != nil {
				return fmt.Errorf("starting network %s: %w", v.Name, err)
			}
			return nil
		})
	}
	if v.Autostart != nil {
		cur := int32(0) // a network defined now starts without autostart
		if exists {
			if cur, err = l.NetworkGetAutostart(net); err != nil {
				return nil, err
			}
		}
		if on, change := autostart(*v.Autostart, cur); change != "" {
			changes = append(changes, change)
			steps = append(steps, func(l *libvirt.Libvirt) error {
				net, err := lookup(l)
				if err != nil {
					return err
				}
				return l.NetworkSetAutostart(net, on)
			})
		}
	}
	return v.plan(env, finish(res, changes), steps), nil
}

// plan gives res an Apply that takes the steps in order over a new
// connection (the one Run planned over is closed by then).
func (v *VirshNet) plan(env *modules.Env, res *modules.Result, steps []func(l *libvirt.Libvirt) error) *modules.Result {
	if len(steps) == 0 {
		return res
	}
	res.Apply = func(ctx context.Context) error {
		return withLibvirt(env, v.Socket, v.URI, func(l *libvirt.Libvirt) error {
			for _, step := range steps {
				if err := step(l); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return res
}

// withLibvirt runs f over a connection of its own to libvirtd.
func withLibvirt(env *modules.Env, socket, uri string, f func(l *libvirt.Libvirt) error) error {
	l, err := Connect(env.Host, socket, uri)
	if err != nil {
		return err
	}
	defer l.Disconnect()
	return f(l)
}

// autostart is the flag to set for a libvirt object whose autostart is cur,
// and the change as the result names it ("" when nothing changes).
func autostart(want bool, cur int32) (int32, string) {
	on := int32(0)
	if want {
		on = 1
	}
	if cur == on {
		return on, ""
	}
	return on, fmt.Sprintf("autostart %v", want)
}

func finish(res *modules.Result, changes []string) *modules.Result {
	if len(changes) > 0 {
		res.Changed = true
		res.Msg = strings.Join(changes, ", ")
	}
	return res
}

var _ modules.Validator = (*VirshNet)(nil)

package virt

import (
	"fmt"
	"strings"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"
)

// NetworkHost is a guest a libvirt network knows of.
type NetworkHost struct {
	Name, MAC, IP string
	Source        string // "reservation" or "lease"
}

// NetworkHosts lists a network's DHCP reservations, then its leases (a
// lease does not mean the guest is up). MACs are lower case.
func NetworkHosts(l *libvirt.Libvirt, network string) ([]NetworkHost, error) {
	n, err := l.NetworkLookupByName(network)
	if err != nil {
		return nil, fmt.Errorf("libvirt network %q: %w", network, err)
	}
	x, err := l.NetworkGetXMLDesc(n, 0)
	if err != nil {
		return nil, err
	}
	var def libvirtxml.Network
	if err := def.Unmarshal(x); err != nil {
		return nil, err
	}
	var hosts []NetworkHost
	for _, ip := range def.IPs {
		if ip.DHCP == nil {
			continue
		}
		for _, h := range ip.DHCP.Hosts {
			if h.IP != "" {
				hosts = append(hosts, NetworkHost{Name: h.Name, MAC: strings.ToLower(h.MAC), IP: h.IP, Source: "reservation"})
			}
		}
	}
	leases, _, err := l.NetworkGetDhcpLeases(n, nil, 1024, 0)
	if err != nil && len(hosts) > 0 {
		return hosts, nil // some drivers (the mock one) keep no leases
	} else if err != nil {
		return nil, fmt.Errorf("leases of %q: %w", network, err)
	}
	for _, le := range leases {
		hosts = append(hosts, NetworkHost{Name: optString(le.Hostname), MAC: strings.ToLower(optString(le.Mac)), IP: le.Ipaddr, Source: "lease"})
	}
	return hosts, nil
}

func optString(o libvirt.OptString) string {
	if len(o) > 0 {
		return o[0]
	}
	return ""
}

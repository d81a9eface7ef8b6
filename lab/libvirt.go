package lab

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/runbook-lab/runbook/modules/virt"
	"github.com/runbook-lab/runbook/transport"
)

// LibvirtInventory writes a YAML inventory of a libvirt network's hosts:
// its DHCP reservations (names and fixed addresses), else its leases.
//
// With the lab's key and known_hosts (hypervisor.yaml writes them in
// labDir) the hosts get the user, key and known_hosts to reach them, and
// the lab's names their groups, so the output is usable as it is.
func LibvirtInventory(stdout, stderr io.Writer, network, uri, socket, labDir string) error {
	l, err := virt.Connect(&transport.Local{HostName: "localhost"}, socket, uri)
	if err != nil {
		return err
	}
	defer l.Disconnect()
	all, err := virt.NetworkHosts(l, network)
	if err != nil {
		return err
	}
	// reservations when the network has named ones, else leases
	type host struct{ name, ip string }
	var hosts []host
	source := "DHCP reservations"
	for _, from := range []string{"reservation", "lease"} {
		for _, h := range all {
			if h.Source == from && h.Name != "" {
				hosts = append(hosts, host{h.Name, h.IP})
			}
		}
		if len(hosts) > 0 {
			break
		}
		source = "DHCP leases (a lease does not mean the guest is up)"
	}
	sort.Slice(hosts, func(i, j int) bool { return hosts[i].name < hosts[j].name })
	key, known := filepath.Join(labDir, "id_ed25519"), filepath.Join(labDir, "known_hosts")
	_, kerr := os.Stat(key)
	_, herr := os.Stat(known)
	withLab := kerr == nil && herr == nil
	fmt.Fprintf(stdout, "# hosts of libvirt network %s, from its %s\nall:\n  hosts:\n", network, source)
	for _, h := range hosts {
		fmt.Fprintf(stdout, "    %s:\n      ansible_host: %s\n", h.name, h.ip)
		if withLab {
			fmt.Fprintf(stdout, "      ansible_user: root\n      ansible_ssh_private_key_file: %s\n      ansible_ssh_known_hosts_file: %s\n", key, known)
		}
	}
	groups := map[string][]string{}
	for _, h := range hosts {
		switch {
		case h.name == "postgres-client":
			groups["pgpool"] = append(groups["pgpool"], h.name)
		case strings.HasPrefix(h.name, "postgres"):
			groups["postgres"] = append(groups["postgres"], h.name)
		}
	}
	if len(groups) > 0 {
		fmt.Fprintf(stdout, "  children:\n")
		for _, g := range []string{"postgres", "pgpool"} {
			if len(groups[g]) == 0 {
				continue
			}
			fmt.Fprintf(stdout, "    %s:\n      hosts:\n", g)
			for _, h := range groups[g] {
				fmt.Fprintf(stdout, "        %s:\n", h)
			}
		}
	}
	if !withLab {
		fmt.Fprintf(stderr, "[WARNING]: no lab key and known_hosts in %s (--lab-dir): add ansible_user and a key to reach these hosts\n", labDir)
	}
	return nil
}

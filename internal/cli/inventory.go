package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runbook-lab/runbook/inventory"
	"github.com/runbook-lab/runbook/lab"
	"github.com/runbook-lab/runbook/runner"
)

func (a *app) inventoryCmd() *cobra.Command {
	var f runFlags
	var graph, list bool
	var fromLibvirt, libvirtURI, libvirtSocket, labDir string
	cmd := &cobra.Command{Use: "inventory", Short: "Show the inventory as a graph of groups or as JSON with variables",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if fromLibvirt != "" {
				return lab.LibvirtInventory(a.stdout, a.stderr, fromLibvirt, libvirtURI, libvirtSocket, labDir)
			}
			inv, err := f.loadInventoryFor(a, "")
			if err != nil {
				return err
			}
			if list {
				return writeJSON(a.stdout, maskVaulted(inventoryJSON(inv), a.vault.Opened()))
			}
			printGraph(a, inv, "all", 0, map[string]bool{})
			return nil
		}}
	cmd.Flags().StringVarP(&f.inventory, "inventory", "i", "", "inventory file")
	cmd.Flags().BoolVar(&graph, "graph", true, "print groups and hosts as a tree (default)")
	cmd.Flags().BoolVar(&list, "list", false, "print groups, hosts and host variables as JSON")
	cmd.Flags().StringVar(&fromLibvirt, "from-libvirt", "", "print an inventory of a libvirt network's hosts (DHCP reservations, else leases)")
	cmd.Flags().StringVar(&libvirtURI, "libvirt-uri", "qemu:///system", "libvirt connection URI for --from-libvirt")
	cmd.Flags().StringVar(&libvirtSocket, "libvirt-socket", "/run/libvirt/libvirt-sock", "libvirtd's socket for --from-libvirt")
	cmd.Flags().StringVar(&labDir, "lab-dir", "/var/lib/runbook/lab", "where hypervisor.yaml keeps the lab's SSH key and known_hosts (for --from-libvirt)")
	f.vault.add(cmd.Flags())
	f.vault.withVault(a, cmd)
	return cmd
}

// maskVaulted replaces every value opened from a vault, in any string of v.
func maskVaulted(v any, opened []string) any {
	switch x := v.(type) {
	case string:
		for _, s := range opened {
			x = strings.ReplaceAll(x, s, "********")
		}
		return x
	case []any:
		for i := range x {
			x[i] = maskVaulted(x[i], opened)
		}
	case []string:
		for i := range x {
			x[i] = maskVaulted(x[i], opened).(string)
		}
	case map[string]any:
		for k := range x {
			x[k] = maskVaulted(x[k], opened)
		}
	}
	return v
}

// printGraph draws a group as ansible-inventory --graph does: "@all:", then
// each child group and host on its own line, "  |" per level and "--"
// before the name; all's children are ungrouped, then the top-level groups
// in the order the inventory named them.
func printGraph(a *app, inv *inventory.Inventory, name string, depth int, seen map[string]bool) {
	line := func(d int, text string) {
		if d == 0 {
			fmt.Fprintf(a.stdout, "%s\n", text)
			return
		}
		fmt.Fprintf(a.stdout, "%s--%s\n", strings.Repeat("  |", d), text)
	}
	line(depth, "@"+name+":")
	// seen holds the groups on the way down: a group under two parents is
	// drawn under both, as Ansible draws it; a cycle stops
	if seen[name] {
		return
	}
	seen[name] = true
	defer delete(seen, name)
	if name == "all" {
		for _, c := range topGroups(inv) {
			printGraph(a, inv, c, depth+1, seen)
		}
		return
	}
	g, _ := inv.Group(name)
	for _, c := range g.Children {
		printGraph(a, inv, c, depth+1, seen)
	}
	hosts := g.Hosts
	if name == "ungrouped" {
		hosts = inv.GroupHosts("ungrouped")
	}
	for _, h := range hosts {
		line(depth+1, h)
	}
}

// topGroups are all's children as ansible-inventory lists them: ungrouped
// first, then the groups no other group holds, first seen first.
func topGroups(inv *inventory.Inventory) []string {
	top := []string{"ungrouped"}
	for _, n := range inv.GroupNamesInOrder() {
		if n != "all" && n != "ungrouped" && isTopLevel(inv, n) {
			top = append(top, n)
		}
	}
	return top
}

func isTopLevel(inv *inventory.Inventory, name string) bool {
	for _, other := range inv.GroupNames() {
		if other == "all" {
			continue
		}
		g, _ := inv.Group(other)
		for _, c := range g.Children {
			if c == name {
				return false
			}
		}
	}
	return true
}

func inventoryJSON(inv *inventory.Inventory) map[string]any {
	hostvars := map[string]any{}
	for _, h := range inv.Hosts() {
		vars := inv.HostVars(h)
		for k := range vars {
			if runner.SecretName(k) {
				vars[k] = "********"
			}
		}
		if len(vars) > 0 { // ansible-inventory leaves out hosts without variables
			hostvars[h] = vars
		}
	}
	// ansible-inventory --list's shape: each group with its own hosts and
	// its child groups (none of either: left out), "all" with the groups
	// at the top, "ungrouped" first
	out := map[string]any{"_meta": map[string]any{"hostvars": hostvars}}
	top := topGroups(inv)
	for _, n := range inv.GroupNames() {
		if n == "all" {
			continue
		}
		g, _ := inv.Group(n)
		hosts := g.Hosts
		if n == "ungrouped" {
			hosts = inv.GroupHosts(n)
		}
		entry := map[string]any{}
		if len(hosts) > 0 {
			entry["hosts"] = hosts
		}
		if len(g.Children) > 0 {
			entry["children"] = g.Children
		}
		if len(entry) > 0 {
			out[n] = entry
		}
	}
	out["all"] = map[string]any{"children": top}
	return out
}

package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runbook-lab/runbook/inventory"
)

func (a *app) inventoryCmd() *cobra.Command {
	var f runFlags
	var graph, list bool
	cmd := &cobra.Command{Use: "inventory", Short: "Show the inventory as a graph of groups or as JSON with variables",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			inv, err := f.loadInventory()
			if err != nil {
				return err
			}
			if list {
				return writeJSON(a.stdout, inventoryJSON(inv))
			}
			printGraph(a, inv, "all", 0, map[string]bool{})
			return nil
		}}
	cmd.Flags().StringVarP(&f.inventory, "inventory", "i", "", "inventory file")
	cmd.Flags().BoolVar(&graph, "graph", true, "print groups and hosts as a tree (default)")
	cmd.Flags().BoolVar(&list, "list", false, "print groups, hosts and host variables as JSON")
	return cmd
}

func printGraph(a *app, inv *inventory.Inventory, name string, depth int, seen map[string]bool) {
	indent := strings.Repeat("  |", depth)
	fmt.Fprintf(a.stdout, "%s@%s:\n", indent, name)
	if seen[name] {
		return
	}
	seen[name] = true
	g, _ := inv.Group(name)
	if name == "all" {
		for _, c := range inv.GroupNames() {
			if c == "all" {
				continue
			}
			if grp, _ := inv.Group(c); isTopLevel(inv, c) && (len(inv.GroupHosts(c)) > 0 || len(grp.Children) > 0) {
				printGraph(a, inv, c, depth+1, seen)
			}
		}
		return
	}
	for _, c := range g.Children {
		printGraph(a, inv, c, depth+1, seen)
	}
	for _, h := range g.Hosts {
		fmt.Fprintf(a.stdout, "%s  |--%s\n", indent, h)
	}
	if name == "ungrouped" {
		for _, h := range inv.GroupHosts("ungrouped") {
			fmt.Fprintf(a.stdout, "%s  |--%s\n", indent, h)
		}
	}
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
			if strings.Contains(k, "password") {
				vars[k] = "********"
			}
		}
		hostvars[h] = vars
	}
	out := map[string]any{"_meta": map[string]any{"hostvars": hostvars}}
	for _, n := range inv.GroupNames() {
		g, _ := inv.Group(n)
		entry := map[string]any{"hosts": inv.GroupHosts(n)}
		if len(g.Children) > 0 {
			entry["children"] = g.Children
		}
		out[n] = entry
	}
	return out
}

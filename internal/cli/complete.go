package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/playbooks"
)

// Shell completion (runbook completion bash|zsh|fish): embedded playbooks
// and local YAML files for play, inventory hosts and groups for run and
// --limit, module names for run -m and doc.

func completePlaybooks(_ *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, p := range playbooks.ListEmbedded() {
		if strings.HasPrefix(p.Name, prefix) {
			out = append(out, p.Name+"\t"+p.Description)
		}
	}
	// files too: the shell lists the .yml/.yaml ones
	return out, cobra.ShellCompDirectiveFilterFileExt
}

func completeModules(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	var out []string
	for _, id := range modules.Default.IDs() {
		if strings.HasPrefix(id, prefix) {
			info, _ := modules.Default.Lookup(id)
			out = append(out, id+"\t"+info.Summary)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeHosts offers the inventory's hosts and groups (the inventory of
// -i, $RUNBOOK_INVENTORY or the recorded lab).
func completeHosts(f *runFlags) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		inv, err := f.loadInventory()
		if err != nil || inv == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, name := range append(inv.Hosts(), inv.GroupNames()...) {
			if strings.HasPrefix(name, prefix) {
				out = append(out, name)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

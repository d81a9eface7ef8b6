package cli

import (
	"github.com/runbook-lab/runbook/inventory"
	"github.com/runbook-lab/runbook/lab"
)

// loadLabRecord reads the lab record, if there is one, and fills the
// flags it carries (namespace, known_hosts) that were not given.
func loadLabRecord(f *runFlags) (*inventory.Inventory, string, error) {
	c := lab.Connection{NetNS: f.netns, KnownHosts: f.knownHosts}
	inv, note, err := lab.Load(&c)
	f.netns, f.knownHosts = c.NetNS, c.KnownHosts
	return inv, note, err
}

package runner

import (
	"maps"
	"sync"

	"github.com/runbook-lab/runbook/modules"
)

// The variables every host's tasks read that do not depend on the host
// (hostvars, groups, play_hosts) are built once and shared, so that a
// task's cost is O(hosts), not O(hosts²): rebuilding every host's merged
// variables for every host and task made 1000 hosts take minutes of CPU.

// invVarsCache holds each host's inventory variables (group vars merged),
// dropped when add_host changes the inventory.
type invVarsCache struct {
	mu   sync.Mutex
	vars map[string]map[string]any
}

func (c *invVarsCache) get(r *run, host string) map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.vars == nil {
		c.vars = map[string]map[string]any{}
	}
	v, ok := c.vars[host]
	if !ok {
		v = r.opt.Inventory.HostVars(host)
		c.vars[host] = v
	}
	return v
}

// inventoryLayer is a host's inventory variables as a layer: the author's,
// but for those add_host set from values a task computed (data).
func (r *run) inventoryLayer(host string) layer {
	r.addHostsMu.Lock()
	keys := r.addedVars[host]
	r.addHostsMu.Unlock()
	return codeExcept(r.invVars.get(r, host), keys)
}

func (c *invVarsCache) reset() {
	c.mu.Lock()
	c.vars = nil
	c.mu.Unlock()
}

// shared is the read-only view of the run every host's task gets: built
// between tasks (refresh), read concurrently during one.
type shared struct {
	hostvars  map[string]any // host -> its inventory vars and facts
	merged    map[string]sharedHost
	groups    map[string]any
	groupsOf  map[string][]any
	inventory int // the inventory generation these were built from
}

type sharedHost struct {
	version int
	vars    map[string]any
}

// refresh brings the shared view up to date: hosts whose facts changed
// since the last task are merged again, the others are kept.
func (r *run) refresh() {
	r.refreshMu.Lock()
	defer r.refreshMu.Unlock()
	r.factsMu.RLock()
	defer r.factsMu.RUnlock()
	s := r.view.Load()
	if s == nil || s.inventory != r.invGen {
		s = &shared{merged: map[string]sharedHost{}, inventory: r.invGen, groupsOf: map[string][]any{}}
		s.groups = r.opt.Inventory.GroupsMap()
	}
	next := &shared{hostvars: make(map[string]any, len(s.merged)), merged: make(map[string]sharedHost, len(s.merged)),
		groups: s.groups, groupsOf: s.groupsOf, inventory: s.inventory}
	for _, name := range r.opt.Inventory.Hosts() {
		version := 0
		h, ran := r.hosts[name]
		if ran {
			version = h.version
		}
		m, ok := s.merged[name]
		if !ok || m.version != version {
			hv := maps.Clone(r.invVars.get(r, name))
			if ran {
				maps.Copy(hv, h.facts)
			}
			m = sharedHost{version: version, vars: hv}
		}
		next.merged[name] = m
		next.hostvars[name] = m.vars
	}
	r.view.Store(next)
}

// groupNames is a host's group_names, computed once per inventory change.
func (s *shared) groupNames(r *run, host string) []any {
	r.viewMu.Lock()
	defer r.viewMu.Unlock()
	g, ok := s.groupsOf[host]
	if !ok {
		g = modules.AnyList(r.opt.Inventory.HostGroups(host))
		s.groupsOf[host] = g
	}
	return g
}

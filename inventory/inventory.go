// Package inventory reads Ansible-format inventories (YAML and INI, with
// host_vars/ and group_vars/ beside them) and selects hosts by pattern.
package inventory

import (
	"errors"
	"fmt"
	"github.com/runbook-lab/runbook/internal/inputfile"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/runbook-lab/runbook/internal/diag"
)

// Inventory is the hosts and groups a run knows about.
type Inventory struct {
	hosts  map[string]*Host
	order  []string // hosts in the order first seen
	groups map[string]*Group
	// groupOrder is the groups in the order first seen (ansible-inventory
	// lists the top-level groups so)
	groupOrder []string
	edgeAt     map[[2]string][2]int // where parent -> child was written (line, column)

	// memo maps each host to its groups, built once after a change: group
	// membership is read for every host and task, and walking every group
	// each time made a run's cost grow with hosts squared.
	memoMu sync.Mutex
	memo   map[string][]string
}

// changed drops the membership index after a change to hosts or groups.
func (inv *Inventory) changed() {
	inv.memoMu.Lock()
	inv.memo = nil
	inv.memoMu.Unlock()
}

// Host is one machine and its own variables.
type Host struct {
	Name string
	Vars map[string]any
	// FileVars come from host_vars/: above the inventory file's own, as
	// in Ansible.
	FileVars map[string]any
}

// Group is a named set of hosts and child groups with shared variables.
type Group struct {
	Name     string
	Hosts    []string
	Children []string
	Vars     map[string]any
	// FileVars come from group_vars/: above every inline group var (even a
	// child group's), as in Ansible.
	FileVars map[string]any
	parents  []string
}

// New returns an inventory with only the "all" group.
func New() *Inventory {
	inv := &Inventory{hosts: map[string]*Host{}, groups: map[string]*Group{}}
	inv.group("all")
	inv.group("ungrouped")
	return inv
}

func (inv *Inventory) group(name string) *Group {
	g, ok := inv.groups[name]
	if !ok {
		g = &Group{Name: name, Vars: map[string]any{}}
		inv.groups[name] = g
		inv.groupOrder = append(inv.groupOrder, name)
		inv.changed()
	}
	return g
}

// AddHost adds (or updates) a host in a group, like Ansible's add_host.
func (inv *Inventory) AddHost(name, group string, vars map[string]any) *Host {
	h, ok := inv.hosts[name]
	if !ok {
		h = &Host{Name: name, Vars: map[string]any{}}
		inv.hosts[name] = h
		inv.order = append(inv.order, name)
	}
	inv.changed()
	for k, v := range vars {
		h.Vars[k] = v
	}
	if group != "" && group != "all" {
		g := inv.group(group)
		if !contains(g.Hosts, name) {
			g.Hosts = append(g.Hosts, name)
		}
	}
	return h
}

// addChildAt is addChild, remembering where the edge was written.
func (inv *Inventory) addChildAt(parent, child string, line, col int) {
	if inv.edgeAt == nil {
		inv.edgeAt = map[[2]string][2]int{}
	}
	inv.edgeAt[[2]string{parent, child}] = [2]int{line, col}
	inv.addChild(parent, child)
}

func (inv *Inventory) addChild(parent, child string) {
	defer inv.changed()
	p := inv.group(parent)
	c := inv.group(child)
	if !contains(p.Children, child) {
		p.Children = append(p.Children, child)
	}
	if !contains(c.parents, parent) {
		c.parents = append(c.parents, parent)
	}
}

// Hosts lists all host names in inventory order.
func (inv *Inventory) Hosts() []string { return append([]string(nil), inv.order...) }

// Host returns a host by name.
func (inv *Inventory) Host(name string) (*Host, bool) {
	h, ok := inv.hosts[name]
	return h, ok
}

// GroupNames lists the groups, sorted.
func (inv *Inventory) GroupNames() []string {
	out := make([]string, 0, len(inv.groups))
	for n := range inv.groups {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// GroupNamesInOrder are the groups in the order the inventory named them
// first.
func (inv *Inventory) GroupNamesInOrder() []string {
	out := make([]string, 0, len(inv.groupOrder))
	for _, n := range inv.groupOrder {
		if _, ok := inv.groups[n]; ok {
			out = append(out, n)
		}
	}
	return out
}

// Group returns a group by name.
func (inv *Inventory) Group(name string) (*Group, bool) {
	g, ok := inv.groups[name]
	return g, ok
}

// GroupHosts lists the hosts of a group and its descendants, in inventory order.
func (inv *Inventory) GroupHosts(name string) []string {
	if name == "all" {
		return inv.Hosts()
	}
	set := map[string]bool{}
	var walk func(string, int)
	walk = func(g string, depth int) {
		grp, ok := inv.groups[g]
		if !ok || depth > 50 {
			return
		}
		for _, h := range grp.Hosts {
			set[h] = true
		}
		for _, c := range grp.Children {
			walk(c, depth+1)
		}
	}
	walk(name, 0)
	if name == "ungrouped" {
		for _, h := range inv.order {
			if len(inv.HostGroups(h)) == 0 {
				set[h] = true
			}
		}
	}
	var out []string
	for _, h := range inv.order {
		if set[h] {
			out = append(out, h)
		}
	}
	return out
}

// HostGroups lists the groups a host belongs to, directly or through
// children, without "all".
func (inv *Inventory) HostGroups(host string) []string {
	inv.memoMu.Lock()
	defer inv.memoMu.Unlock()
	if inv.memo == nil {
		inv.memo = map[string][]string{}
		for _, n := range inv.GroupNames() {
			if n == "all" || n == "ungrouped" {
				continue
			}
			for _, h := range inv.GroupHosts(n) {
				inv.memo[h] = append(inv.memo[h], n)
			}
		}
	}
	return append([]string(nil), inv.memo[host]...)
}

// groupDepth is a group's distance from "all", so that child groups' vars
// override their parents' (as in Ansible).
func (inv *Inventory) groupDepth(name string, seen int) int {
	g := inv.groups[name]
	if g == nil || len(g.parents) == 0 || seen > 50 {
		if name == "all" {
			return 0
		}
		return 1
	}
	d := 0
	for _, p := range g.parents {
		d = max(d, inv.groupDepth(p, seen+1)+1)
	}
	return d
}

// HostVars merges a host's variables in Ansible's order: the inventory
// file's group vars (all, then groups from parent to child, then by name),
// then group_vars/ files in the same order, then the host's own inline
// vars, then its host_vars/ file.
func (inv *Inventory) HostVars(host string) map[string]any {
	out := map[string]any{}
	groups := append([]string{"all"}, inv.HostGroups(host)...)
	sort.SliceStable(groups[1:], func(i, j int) bool {
		gi, gj := groups[1+i], groups[1+j]
		di, dj := inv.groupDepth(gi, 0), inv.groupDepth(gj, 0)
		if di != dj {
			return di < dj
		}
		return gi < gj
	})
	for _, g := range groups {
		maps.Copy(out, inv.groups[g].Vars)
	}
	for _, g := range groups {
		maps.Copy(out, inv.groups[g].FileVars)
	}
	if h, ok := inv.hosts[host]; ok {
		maps.Copy(out, h.Vars)
		maps.Copy(out, h.FileVars)
	}
	return out
}

// GroupsMap is the `groups` variable: group name to host names.
func (inv *Inventory) GroupsMap() map[string]any {
	out := map[string]any{}
	for _, n := range inv.GroupNames() {
		hs := inv.GroupHosts(n)
		l := make([]any, len(hs))
		for i, h := range hs {
			l[i] = h
		}
		out[n] = l
	}
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// Load reads an inventory file (YAML or INI, by content), plus host_vars/
// and group_vars/ beside it.
func Load(path string) (*Inventory, error) {
	b, err := inputfile.Read(path)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	return Parse(&diag.Source{Name: path, Text: b}, filepath.Dir(path))
}

// Parse reads inventory text; dir (may be "") holds host_vars/ and group_vars/.
func Parse(src *diag.Source, dir string) (*Inventory, error) {
	inv := New()
	if err := checkText(src); err != nil {
		return nil, err
	}
	var err error
	ext := strings.ToLower(filepath.Ext(src.Name))
	switch {
	case ext == ".yaml" || ext == ".yml" || ext == ".json":
		err = parseYAML(inv, src)
	default:
		// as Ansible's inventory plugins: the likelier format first, then
		// the other; both failing, the likelier one's error
		first, second := parseYAML, parseINI
		if looksINI(src.Text) {
			first, second = parseINI, parseYAML
		}
		if err = first(inv, src); err != nil && !yamlMapping(src.Text) {
			alt := New()
			if second(alt, src) == nil {
				inv, err = alt, nil
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if err := inv.checkCycles(src); err != nil {
		return nil, err
	}
	if dir != "" {
		if err := inv.loadVarsDirs(dir); err != nil {
			return nil, err
		}
	}
	return inv, nil
}

// yamlMapping says whether text is a YAML mapping: a YAML inventory, whose
// errors are its own (never an INI file's).
func yamlMapping(text []byte) bool {
	var doc yaml.Node
	return yaml.Unmarshal(text, &doc) == nil && len(doc.Content) > 0 && doc.Content[0].Kind == yaml.MappingNode
}

func looksINI(b []byte) bool {
	for _, line := range strings.Split(string(b), "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, ";") || t == "---" {
			continue
		}
		if strings.HasPrefix(t, "- ") || t == "-" || strings.HasPrefix(t, "{") {
			return false // YAML: a list or a flow mapping
		}
		return strings.HasPrefix(t, "[") || !strings.Contains(t, ":")
	}
	return false
}

// loadVarsDirs reads group_vars/ and host_vars/ beside the inventory as
// Ansible does: NAME.yml, NAME.yaml, NAME.json or NAME without extension,
// or a directory NAME/ whose files are read in name order; other files
// (README.md) are ignored, and host_vars of a host not in the inventory too.
func (inv *Inventory) loadVarsDirs(dir string) error {
	for _, kind := range []string{"group_vars", "host_vars"} {
		entries, err := os.ReadDir(filepath.Join(dir, kind))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return err
		}
		for _, e := range entries {
			name, files, err := varsFiles(filepath.Join(dir, kind), e)
			if err != nil {
				return err
			}
			for _, p := range files {
				vars, err := readVarsFile(p)
				if err != nil {
					return err
				}
				if kind == "group_vars" {
					if _, known := inv.groups[name]; !known && name != "all" && name != "ungrouped" {
						continue // as Ansible: group_vars of a group the inventory lacks make no group
					}
					g := inv.group(name)
					if g.FileVars == nil {
						g.FileVars = map[string]any{}
					}
					maps.Copy(g.FileVars, vars)
				} else if h, ok := inv.hosts[name]; ok {
					if h.FileVars == nil {
						h.FileVars = map[string]any{}
					}
					maps.Copy(h.FileVars, vars)
				}
			}
		}
	}
	return nil
}

// varsExt are the variable files Ansible reads ("" is a file without one).
var varsExt = map[string]bool{".yml": true, ".yaml": true, ".json": true, "": true}

// varsFiles names the group or host an entry of group_vars/ or host_vars/
// is for, and the files to read for it.
func varsFiles(dir string, e fs.DirEntry) (string, []string, error) {
	if strings.HasPrefix(e.Name(), ".") {
		return "", nil, nil
	}
	if !e.IsDir() {
		ext := filepath.Ext(e.Name())
		if !varsExt[ext] {
			return "", nil, nil
		}
		return strings.TrimSuffix(e.Name(), ext), []string{filepath.Join(dir, e.Name())}, nil
	}
	sub, err := os.ReadDir(filepath.Join(dir, e.Name()))
	if err != nil {
		return "", nil, err
	}
	var files []string
	for _, f := range sub {
		if !f.IsDir() && !strings.HasPrefix(f.Name(), ".") && varsExt[filepath.Ext(f.Name())] {
			files = append(files, filepath.Join(dir, e.Name(), f.Name()))
		}
	}
	sort.Strings(files)
	return e.Name(), files, nil
}

// readVarsFile reads one YAML (or JSON) mapping of variables.
func readVarsFile(p string) (map[string]any, error) {
	b, err := inputfile.Read(p)
	if err != nil {
		return nil, err
	}
	src := &diag.Source{Name: p, Text: b}
	doc, err := diag.ParseYAML(src)
	if err != nil {
		return nil, err
	}
	vars := map[string]any{}
	if len(doc.Content) > 0 {
		root := doc.Content[0]
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			return vars, nil
		}
		if root.Kind != yaml.MappingNode {
			return nil, diag.Node(src, root, "expected a mapping of variables, got %s", diag.KindName(root))
		}
		if err := diag.Duplicates(src, root); err != nil {
			return nil, err
		}
		if err := root.Decode(&vars); err != nil {
			return nil, diag.Node(src, root, "%v", err)
		}
	}
	return vars, nil
}

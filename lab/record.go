// Package lab is the PostgreSQL HA lab as a product beside the engine:
// the record of the lab a site.yaml built, its hosts from libvirt, the
// drill modes, reports and the chaos campaign. The CLI uses it; it never
// imports the CLI.
package lab

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/runbook-lab/runbook/internal/diag"
	"github.com/runbook-lab/runbook/internal/inputfile"
	"github.com/runbook-lab/runbook/inventory"
	"github.com/runbook-lab/runbook/playbooks"
	"github.com/runbook-lab/runbook/transport"
)

// The lab remembers itself: a successful site.yaml writes the hosts it
// built or was given (addresses, user, key, known_hosts, jump host) and the
// namespace it reached them from into one inventory file, and every later
// lab command without -i uses it, saying so. destroy.yaml forgets it.

// Groups are the groups the lab's playbooks address.
var Groups = []string{"postgres", "pgpool", "lab", "hypervisor"}

// Hosts are the hosts the lab's playbooks address by name.
var Hosts = []string{"postgres1", "postgres2", "postgres3", "postgres-client"}

// RecordPath is where the lab's inventory is kept: $RUNBOOK_LAB_FILE,
// else the user's state directory.
func RecordPath() string {
	if p := os.Getenv("RUNBOOK_LAB_FILE"); p != "" {
		return p
	}
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "runbook", "lab.yaml")
}

// UsesRecord says whether a command without -i runs on the recorded
// lab: the embedded lab playbooks (not the ones that build the lab from
// the hypervisor), verify, run.
func UsesRecord(playbook string) bool {
	if playbook == "" {
		return true // run, verify
	}
	if _, err := os.Stat(playbook); err == nil && !playbooks.IsBareName(playbook) {
		return false // a file of the user's
	}
	name := strings.TrimPrefix(filepath.ToSlash(playbook), "./")
	if _, err := fs.Stat(playbooks.Embedded, name); err != nil {
		return false
	}
	switch name {
	case "site.yaml", "hypervisor.yaml", "image.yaml":
		return false
	}
	return true
}

// Record writes the lab's hosts from the inventory as it stands after
// site.yaml (add_host included), atomically, readable only by the user:
// host variables may hold passwords.
func Record(inv *inventory.Inventory, netns, knownHosts, via string) (string, error) {
	path := RecordPath()
	if path == "" {
		return "", fmt.Errorf("no state directory for the lab record")
	}
	keep := map[string]bool{}
	for _, h := range Hosts {
		if _, ok := inv.Host(h); ok {
			keep[h] = true
		}
	}
	for _, g := range Groups {
		for _, h := range inv.GroupHosts(g) {
			keep[h] = true
		}
	}
	// jump hosts the lab's hosts are reached through come along
	for h := range keep {
		if j, ok := inv.HostVars(h)["jump"].(string); ok && j != "" {
			if _, known := inv.Host(j); known {
				keep[j] = true
			}
		}
	}
	if len(keep) == 0 {
		return "", nil
	}
	var names []string
	for h := range keep {
		names = append(names, h)
	}
	sort.Strings(names)
	hosts := map[string]any{}
	for _, h := range names {
		vars := inv.HostVars(h)
		delete(vars, "ansible_connection") // recorded explicitly only when local
		if c, ok := inv.HostVars(h)["ansible_connection"].(string); ok && c == "local" {
			vars["ansible_connection"] = "local"
		}
		hosts[h] = vars
	}
	children := map[string]any{}
	for _, g := range Groups {
		members := map[string]any{}
		for _, h := range inv.GroupHosts(g) {
			if keep[h] {
				members[h] = nil
			}
		}
		if len(members) > 0 {
			children[g] = map[string]any{"hosts": members}
		}
	}
	allVars := map[string]any{"runbook_lab_recorded": time.Now().UTC().Format(time.RFC3339), "runbook_lab_via": via}
	if netns != "" {
		allVars["runbook_lab_netns"] = netns
	}
	if knownHosts != "" {
		kh, err := filepath.Abs(knownHosts)
		if err == nil {
			allVars["runbook_lab_known_hosts"] = kh
		}
	}
	doc := map[string]any{"all": map[string]any{"hosts": hosts, "children": children, "vars": allVars}}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return "", err
	}
	b = append([]byte("# The PostgreSQL HA lab as runbook built it (runbook play site.yaml).\n"+
		"# Lab commands without -i use it; runbook play destroy.yaml forgets it.\n"), b...)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".lab-*.yaml")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", err
	}
	tmp.Close()
	return path, os.Rename(tmp.Name(), path)
}

// Forget removes the record (destroy.yaml).
func Forget() {
	if p := RecordPath(); p != "" {
		os.Remove(p)
	}
}

// Connection is how the lab's hosts are reached: the network namespace
// and the known_hosts file (empty: not given).
type Connection struct{ NetNS, KnownHosts string }

// Load reads the record, if there is one, and fills what it carries of c
// (namespace, known_hosts) that was not given; the note says which lab
// is used.
func Load(c *Connection) (*inventory.Inventory, string, error) {
	path := RecordPath()
	if path == "" {
		return nil, "", nil
	}
	if _, err := os.Lstat(path); err != nil {
		return nil, "", nil
	}
	if err := TrustedFile(path); err != nil {
		return nil, "", fmt.Errorf("the lab record: %w", err)
	}
	b, err := inputfile.Read(path)
	if err != nil {
		return nil, "", err
	}
	inv, err := inventory.Parse(&diag.Source{Name: path, Text: b}, "")
	if err != nil {
		return nil, "", fmt.Errorf("the lab record %s: %w", path, err)
	}
	g, _ := inv.Group("all")
	if ns, ok := g.Vars["runbook_lab_netns"].(string); ok && c.NetNS == "" {
		if err := transport.ValidNetNS(ns); err != nil {
			return nil, "", fmt.Errorf("the lab record %s: %w", path, err)
		}
		c.NetNS = ns
	}
	if kh, ok := g.Vars["runbook_lab_known_hosts"].(string); ok && c.KnownHosts == "" {
		c.KnownHosts = kh
	}
	when, _ := g.Vars["runbook_lab_recorded"].(string)
	note := fmt.Sprintf("using the lab recorded in %s (%s): %s", path, when, strings.Join(inv.Hosts(), ", "))
	if c.NetNS != "" {
		note += " from network namespace " + c.NetNS
	}
	return inv, note, nil
}

// TrustedFile refuses a file runbook would act on as its user (often root)
// that someone else could have written: a symbolic link, not a regular
// file, owned by another user, or writable by group or others.
func TrustedFile(path string) error {
	st, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if st.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("%s is a symbolic link; refusing to trust it (remove it, or point RUNBOOK_LAB_FILE at the real file)", path)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Getuid() {
		return fmt.Errorf("%s is owned by uid %d, not by you (uid %d); refusing to trust it", path, sys.Uid, os.Getuid())
	}
	if st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is writable by others (mode %04o); chmod 600 it", path, st.Mode().Perm())
	}
	return nil
}

package inventory

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// The oracle: Ansible's own ansible-inventory. For every inventory under
// testdata/parity (YAML and INI, ranges, group_vars/ and host_vars/ files
// and folders, odd values), runbook's host variables and group membership
// must equal what ansible-inventory --list gives.
func TestInventoryMatchesAnsible(t *testing.T) {
	bin, err := exec.LookPath("ansible-inventory")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("ansible-inventory missing: scripts/test-deps.sh installs ansible-core")
		}
		t.Skip("no ansible-inventory (apt-get install ansible-core)")
	}
	dirs, _ := filepath.Glob("testdata/parity/*")
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "hosts*"))
		if len(files) != 1 {
			t.Fatalf("%s: want one hosts* file", dir)
		}
		file := files[0]
		t.Run(filepath.Base(dir), func(t *testing.T) {
			cmd := exec.Command(bin, "-i", file, "--list")
			cmd.Env = append(os.Environ(), "ANSIBLE_INVENTORY_UNPARSED_WARNING=False", "ANSIBLE_LOCALHOST_WARNING=False")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("ansible-inventory: %v", err)
			}
			var want map[string]any
			if err := json.Unmarshal(out, &want); err != nil {
				t.Fatal(err)
			}
			inv, err := Load(file)
			if err != nil {
				t.Fatalf("runbook: %v", err)
			}
			wantVars := want["_meta"].(map[string]any)["hostvars"].(map[string]any)
			// every host: those with variables, and those of any group
			// (ansible-inventory leaves a host without variables out of _meta)
			seen := map[string]bool{}
			for h := range wantVars {
				seen[h] = true
			}
			for _, g := range want {
				if gm, ok := g.(map[string]any); ok {
					if hs, ok := gm["hosts"].([]any); ok {
						for _, h := range hs {
							seen[h.(string)] = true
						}
					}
				}
			}
			var hosts []string
			for h := range seen {
				hosts = append(hosts, h)
			}
			sort.Strings(hosts)
			got := inv.Hosts()
			sort.Strings(got)
			if !reflect.DeepEqual(got, hosts) {
				t.Errorf("hosts: runbook %v, ansible %v", got, hosts)
			}
			for _, h := range hosts {
				wv := wantVars[h]
				if wv == nil {
					wv = map[string]any{} // left out of _meta: no variables
				}
				if g, w := normalize(inv.HostVars(h)), normalize(wv); !reflect.DeepEqual(g, w) {
					t.Errorf("%s vars:\n  runbook %v\n  ansible %v", h, g, w)
				}
			}
			for g := range want {
				if g == "_meta" || g == "all" {
					continue
				}
				w := members(want, g)
				r := inv.GroupHosts(g)
				sort.Strings(r)
				if !reflect.DeepEqual(r, w) && !(len(r) == 0 && len(w) == 0) {
					t.Errorf("group %s: runbook %v, ansible %v", g, r, w)
				}
			}
		})
	}
}

// members flattens a group of ansible-inventory --list output.
func members(doc map[string]any, g string) []string {
	set := map[string]bool{}
	var walk func(string)
	walk = func(g string) {
		e, _ := doc[g].(map[string]any)
		for _, h := range asStrings(e["hosts"]) {
			set[h] = true
		}
		for _, c := range asStrings(e["children"]) {
			walk(c)
		}
	}
	walk(g)
	var out []string
	for h := range set {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

func asStrings(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		out = append(out, x.(string))
	}
	return out
}

// normalize compares values as JSON does (ints and floats alike).
func normalize(v any) any {
	b, _ := json.Marshal(v)
	var out any
	json.NewDecoder(strings.NewReader(string(b))).Decode(&out)
	return out
}

// Host patterns select what `ansible PATTERN --list-hosts` selects, in
// the same order.
func TestPatternsMatchAnsible(t *testing.T) {
	bin, err := exec.LookPath("ansible")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("ansible missing: scripts/test-deps.sh installs ansible-core")
		}
		t.Skip("no ansible (apt-get install ansible-core)")
	}
	cases := map[string][]string{
		"testdata/parity/yaml_ranges/hosts.yml": {"db:web", "web:db", "~web.*", "~(web|db)0?[ab1]", "db[0]", "db[-1]", "db[0:1]", "db[1:]",
			"all:!db", "db:&db_replicas", "web*", "*.example.com", "db,bastion", "db:!db_replicas", "bastion:db[0]", "!web", "&db:web"},
		// a group under two parents, hosts under all, empty and vars-only groups
		"testdata/parity/yaml_nested/hosts.yaml": {"standby", "replicas:backup_targets", "dbs:!primary", "pg*:&standby", "redis-*", "~pg[13]",
			"dbs[2]", "dbs[-2:]", "all[0]", "ungrouped", "cache:&dbs", "only_vars", "lonely:pg1", "*", "nothing", "all:!ungrouped", "pg5:pg3:pg5"},
	}
	for file, patterns := range cases {
		inv, err := Load(file)
		if err != nil {
			t.Fatal(err)
		}
		selectLikeAnsible(t, bin, file, inv, patterns)
	}
}

func selectLikeAnsible(t *testing.T, bin, file string, inv *Inventory, patterns []string) {
	t.Helper()
	for _, p := range patterns {
		out, err := exec.Command(bin, p, "-i", file, "--list-hosts").Output()
		if err != nil {
			t.Fatalf("ansible %s: %v", p, err)
		}
		var want []string
		for _, l := range strings.Split(string(out), "\n")[1:] {
			if l = strings.TrimSpace(l); l != "" {
				want = append(want, l)
			}
		}
		got, err := inv.Select(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("%s: runbook %v, ansible %v", p, got, want)
		}
	}
}

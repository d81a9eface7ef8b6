package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

// `runbook inventory --list` is ansible-inventory --list's document: the
// same groups, each with the same own hosts and child groups ("all" with
// the groups at the top), over every inventory of the parity corpus.
// (Host variables are compared by inventory's own parity test; the order
// of a list is not compared.)
func TestInventoryListMatchesAnsible(t *testing.T) {
	bin, err := exec.LookPath("ansible-inventory")
	if err != nil {
		t.Skip("no ansible-inventory (make test-deps installs it)")
	}
	dirs, _ := filepath.Glob("../../inventory/testdata/parity/*")
	if len(dirs) < 5 {
		t.Fatalf("parity corpus: %d inventories", len(dirs))
	}
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "hosts*"))
		if len(files) != 1 {
			continue
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			cmd := exec.Command(bin, "-i", files[0], "--list")
			cmd.Env = append(os.Environ(), "ANSIBLE_INVENTORY_UNPARSED_WARNING=False", "ANSIBLE_LOCALHOST_WARNING=False")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("ansible-inventory: %v", err)
			}
			r := runMain(t, "", "inventory", "-i", files[0], "--list")
			if r.code != 0 {
				t.Fatalf("runbook: exit %d %s", r.code, r.stderr)
			}
			want, got := groupsOf(t, out), groupsOf(t, []byte(r.stdout))
			for g, w := range want {
				if got[g] != w {
					t.Errorf("group %s: runbook %s, ansible-inventory %s", g, got[g], w)
				}
			}
			for g, v := range got {
				if _, ok := want[g]; !ok {
					t.Errorf("group %s: runbook %s, ansible-inventory has no such entry", g, v)
				}
			}
			// the graph, line for line
			gcmd := exec.Command(bin, "-i", files[0], "--graph")
			gcmd.Env = cmd.Env
			if graph, err := gcmd.Output(); err == nil {
				if g := runMain(t, "", "inventory", "-i", files[0], "--graph"); g.stdout != string(graph) {
					t.Errorf("--graph: runbook\n%s\nansible-inventory\n%s", g.stdout, graph)
				}
			}
			// and in the same order: lists as ansible-inventory writes them
			var a, b map[string]any
			json.Unmarshal(out, &a)
			json.Unmarshal([]byte(r.stdout), &b)
			for g, entry := range a {
				if g == "_meta" {
					continue
				}
				if !reflect.DeepEqual(entry, b[g]) {
					t.Errorf("group %s as listed: runbook %v, ansible-inventory %v", g, b[g], entry)
				}
			}
		})
	}
}

// groupsOf is each group's hosts and children, sorted, as one string.
func groupsOf(t *testing.T, doc []byte) map[string]string {
	t.Helper()
	var m map[string]map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	out := map[string]string{}
	for g, e := range m {
		if g == "_meta" {
			continue
		}
		key := ""
		for _, field := range []string{"hosts", "children"} {
			var l []string
			for _, x := range asList(e[field]) {
				l = append(l, x.(string))
			}
			sort.Strings(l)
			b, _ := json.Marshal(l)
			key += field + "=" + string(b) + " "
		}
		out[g] = key
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

package inventory

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/internal/diag"
)

const yamlInv = `all:
  vars:
    pg_port: 5432
    level: all
  hosts:
    hypervisor:
      ansible_connection: local
  children:
    db:
      vars:
        level: db
      hosts:
        postgres1: {ansible_host: 10.0.0.1}
        postgres2: {ansible_host: 10.0.0.2}
        postgres3: {ansible_host: 10.0.0.3, level: host}
      children:
        primary:
          vars: {level: primary}
          hosts:
            postgres1:
    clients:
      hosts:
        postgres-client:
`

const iniInv = `hypervisor ansible_connection=local

[db]
postgres1 ansible_host=10.0.0.1
postgres2 ansible_host=10.0.0.2
postgres3 ansible_host=10.0.0.3 level=host

[primary]
postgres1

[db:children]
primary

[db:vars]
level=db

[primary:vars]
level=primary

[clients]
postgres-client

[all:vars]
pg_port=5432
level=all
`

func parse(t *testing.T, text string) *Inventory {
	t.Helper()
	inv, err := Parse(&diag.Source{Name: "inv", Text: []byte(text)}, "")
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestFormatsAgree(t *testing.T) {
	for name, text := range map[string]string{"yaml": yamlInv, "ini": iniInv} {
		t.Run(name, func(t *testing.T) {
			inv := parse(t, text)
			cases := map[string][]string{
				"all":                {"hypervisor", "postgres1", "postgres2", "postgres3", "postgres-client"},
				"db":                 {"postgres1", "postgres2", "postgres3"},
				"db:!primary":        {"postgres2", "postgres3"},
				"db:&primary":        {"postgres1"},
				"postgres*":          {"postgres1", "postgres2", "postgres3", "postgres-client"},
				"db[0:1]":            {"postgres1", "postgres2"},
				"clients,hypervisor": {"hypervisor", "postgres-client"},
				"!db":                {"hypervisor", "postgres-client"},
			}
			for pat, want := range cases {
				got, err := inv.Select(pat)
				if err != nil {
					t.Fatalf("%s: %v", pat, err)
				}
				if !equalSets(got, want) {
					t.Errorf("Select(%q) = %v, want %v", pat, got, want)
				}
			}
			levels := map[string]string{"postgres1": "primary", "postgres2": "db", "postgres3": "host", "hypervisor": "all"}
			for h, want := range levels {
				if got := inv.HostVars(h)["level"]; got != want {
					t.Errorf("%s level = %v, want %v (precedence all < parent < child < host)", h, got, want)
				}
			}
			if got := inv.HostVars("postgres2")["pg_port"]; got != 5432 {
				t.Errorf("pg_port = %#v, want int 5432", got)
			}
		})
	}
}

func equalSets(a, b []string) bool {
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return len(a) == len(b)
}

func TestPatternErrors(t *testing.T) {
	inv := parse(t, yamlInv)
	_, err := inv.Select("postgres4")
	if err == nil || !strings.Contains(err.Error(), `"postgres4" is neither a host nor a group`) || !strings.Contains(err.Error(), "did you mean") {
		t.Errorf("unknown term: %v", err)
	}
	retry := filepath.Join(t.TempDir(), "x.retry")
	os.WriteFile(retry, []byte("postgres2\npostgres3\n"), 0o600)
	got, err := inv.Select("@" + retry)
	if err != nil || !reflect.DeepEqual(got, []string{"postgres2", "postgres3"}) {
		t.Errorf("@retry: %v %v", got, err)
	}
}

func TestVarsDirs(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "group_vars"), 0o755)
	os.MkdirAll(filepath.Join(dir, "host_vars"), 0o755)
	os.WriteFile(filepath.Join(dir, "hosts.yaml"), []byte(yamlInv), 0o644)
	os.WriteFile(filepath.Join(dir, "group_vars", "db.yaml"), []byte("from_group: yes-db\nlevel: gv-db\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "host_vars", "postgres2.yml"), []byte("level: hv\n"), 0o644)
	inv, err := Load(filepath.Join(dir, "hosts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if v := inv.HostVars("postgres3")["from_group"]; v != "yes-db" {
		t.Errorf("group_vars not applied: %v", v)
	}
	if v := inv.HostVars("postgres2")["level"]; v != "hv" {
		t.Errorf("host_vars not applied: %v", v)
	}
	os.WriteFile(filepath.Join(dir, "host_vars", "postgres9.yml"), []byte("a: 1\n"), 0o644)
	// as ansible-inventory does: host_vars of a host not in the inventory
	// are ignored, not an error and not a new host
	inv, err = Load(filepath.Join(dir, "hosts.yaml"))
	if err != nil {
		t.Fatalf("host_vars for an unknown host: %v", err)
	}
	if _, ok := inv.Host("postgres9"); ok {
		t.Error("host_vars made a host")
	}
}

func TestInventoryErrors(t *testing.T) {
	cases := []struct{ text, want string }{
		{"all:\n  hostz:\n    a:\n", `inv:2:3: group "all": unknown key "hostz" (did you mean "hosts"?)`},
		{"all:\n  hosts:\n    a:\n      ansible_hots: 1.2.3.4\n", `inv:4:7: host "a": unknown connection variable "ansible_hots" (did you mean "ansible_host"?)`},
		{"[db]\nh1 ansible_prot=22\n", `inv:2:4: unknown connection variable "ansible_prot" (did you mean "ansible_port"?)`},
		{"[db:varz]\n", `inv:1:5: unknown section kind "varz" (did you mean "vars"?)`},
		{"[db\n", `inv:1:1: expected a section header`},
	}
	for _, c := range cases {
		_, err := Parse(&diag.Source{Name: "inv", Text: []byte(c.text)}, "")
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %s", c.text, err, c.want)
		}
	}
}

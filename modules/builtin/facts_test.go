package builtin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/modules"

	"github.com/runbook-lab/runbook/modules/builtin"
)

// The ansible_* facts runbook gathers are the values Ansible's setup
// module gathers on the same machine.
func TestFactsMatchAnsibleSetup(t *testing.T) {
	if _, err := exec.LookPath("ansible"); err != nil {
		t.Skip("ansible not installed (make test-deps installs it)")
	}
	cmd := exec.Command("ansible", "localhost", "-c", "local", "-i", "localhost,", "-m", "setup", "-o")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "ANSIBLE_LOCALHOST_WARNING=false")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ansible -m setup: %v\n%s", err, out)
	}
	// -o: "localhost | SUCCESS => {...}"
	_, js, _ := strings.Cut(string(out), "=> ")
	var res struct {
		Facts map[string]any `json:"ansible_facts"`
	}
	if err := json.Unmarshal([]byte(js), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := res.Facts
	r, err := modules.Execute(context.Background(), (&builtin.Facts{}), env(t, false))
	if err != nil {
		t.Fatal(err)
	}
	got := r.Facts
	for _, k := range []string{"distribution", "os_family", "distribution_version", "distribution_major_version", "distribution_release",
		"hostname", "nodename", "fqdn", "domain", "kernel", "architecture", "machine", "processor_vcpus", "memtotal_mb", "user_id",
		"pkg_mgr", "service_mgr", "system", "machine_id", "user_uid", "user_gid", "user_dir", "user_shell", "user_gecos",
		"processor_count", "processor_cores", "processor_nproc", "distribution_minor_version"} {
		w, g := fmt.Sprint(want["ansible_"+k]), fmt.Sprint(got["ansible_"+k])
		if w != g {
			t.Errorf("ansible_%s: runbook %q, Ansible %q", k, g, w)
		}
	}
	wd, _ := want["ansible_default_ipv4"].(map[string]any)
	gd, _ := got["ansible_default_ipv4"].(map[string]any)
	for _, k := range []string{"address", "interface", "gateway"} {
		if fmt.Sprint(wd[k]) != fmt.Sprint(gd[k]) {
			t.Errorf("ansible_default_ipv4.%s: runbook %v, Ansible %v", k, gd[k], wd[k])
		}
	}
	sorted := func(v any) string {
		l, _ := v.([]any)
		var s []string
		for _, x := range l {
			s = append(s, fmt.Sprint(x))
		}
		sort.Strings(s)
		return fmt.Sprint(s)
	}
	if sorted(want["ansible_all_ipv4_addresses"]) != sorted(got["ansible_all_ipv4_addresses"]) {
		t.Errorf("all_ipv4_addresses: runbook %v, Ansible %v", got["ansible_all_ipv4_addresses"], want["ansible_all_ipv4_addresses"])
	}
}

package testlab_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/internal/cli"
	"github.com/runbook-lab/runbook/internal/testrig/testlab"
)

func TestMain(m *testing.M) {
	// the lab record site.yaml writes goes to a file of this run's own
	dir, _ := os.MkdirTemp("", "runbook-lab-record-")
	os.Setenv("RUNBOOK_LAB_FILE", filepath.Join(dir, "lab.yaml"))
	code := m.Run()
	os.RemoveAll(dir)
	testlab.Shutdown()
	if testlab.WasUp() {
		for _, l := range leftovers() {
			fmt.Fprintln(os.Stderr, "teardown left:", l)
			code = 1
		}
	}
	os.Exit(code)
}

func runbook(t *testing.T, lab *testlab.Lab, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	args = append(args, "-i", lab.InventoryFile, "--netns", lab.NS, "--known-hosts", lab.KnownHosts, "--ssh-accept-new")
	code := cli.Main(args, strings.NewReader(""), &out, &out)
	return code, out.String()
}

var changedRE = regexp.MustCompile(`(?m)^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)

func recap(out string) map[string]string {
	m := map[string]string{}
	for _, r := range changedRE.FindAllStringSubmatch(out, -1) {
		m[r[1]] = "changed=" + r[2] + " unreachable=" + r[3] + " failed=" + r[4]
	}
	return m
}

// Four hosts come up with systemd running, distinct machine-ids and
// addresses, and reach each other.
func TestLabHosts(t *testing.T) {
	lab := testlab.Hosts(t, 4)
	dir := t.TempDir()
	pb := filepath.Join(dir, "p.yaml")
	os.WriteFile(pb, []byte(`- hosts: all
  tasks:
    - name: systemd is running
      command: systemctl is-system-running --wait
      register: sys
      changed_when: false
      # exit 1 means degraded (a unit failed): reported, but the host is up
      failed_when: sys.stdout not in ["running", "degraded"]
    - name: machine id
      command: cat /etc/machine-id
      register: mid
      changed_when: false
    - name: reach the next host's sshd
      command: bash -c 'exec 3<>/dev/tcp/{{ .first }}/22'
      vars:
        first: '{{ index .hostvars (index .play_hosts 0) "ansible_host" }}'
      args: {}
      changed_when: false
`), 0o644)
	code, out := runbook(t, lab, "play", pb)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	ids := map[string]bool{}
	for _, h := range lab.Hosts {
		c, o := runbook(t, lab, "run", h.Name, "-a", "cat /etc/machine-id")
		if c != 0 {
			t.Fatalf("%s: %s", h.Name, o)
		}
		id := strings.TrimSpace(o[strings.Index(o, "stdout:")+7 : strings.Index(o, "PLAY RECAP")])
		if ids[id] {
			t.Errorf("machine-id %s shared", id)
		}
		ids[id] = true
	}
	if len(ids) != 4 {
		t.Errorf("machine-ids: %v", ids)
	}
}

// apt and systemd on real systemd hosts, installing from the lab's
// repository: apply, re-run changed=0, remove.
func TestAptAndSystemdOnLabHosts(t *testing.T) {
	lab := testlab.Hosts(t, 4)
	dir := t.TempDir()
	pb := filepath.Join(dir, "p.yaml")
	os.WriteFile(pb, []byte(`- hosts: postgres1
  gather_facts: false
  vars:
    state: present
  tasks:
    - name: package from the lab repository
      apt:
        name: hello
        state: "{{ .state }}"
        update_cache: true
        cache_valid_time: 3600
    - name: a unit
      copy:
        dest: /etc/systemd/system/rb-sleep.service
        content: "[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n"
      when: state == "present"
    - name: running and enabled
      systemd:
        name: rb-sleep
        state: "{{ if eq .state \"present\" }}started{{ else }}stopped{{ end }}"
        enabled: "{{ eq .state \"present\" }}"
        daemon_reload: false
`), 0o644)
	code, out := runbook(t, lab, "play", pb)
	if code != 0 || recap(out)["postgres1"] != "changed=3 unreachable=0 failed=0" {
		t.Fatalf("first run: exit %d\n%s", code, out)
	}
	if c, o := runbook(t, lab, "run", "postgres1", "-a", "hello"); c != 0 || !strings.Contains(o, "Hello, world!") {
		t.Errorf("hello not installed: %s", o)
	}
	code, out = runbook(t, lab, "play", pb)
	if code != 0 || recap(out)["postgres1"] != "changed=0 unreachable=0 failed=0" {
		t.Errorf("second run: exit %d\n%s", code, out)
	}
	if c, o := runbook(t, lab, "run", "postgres1", "-a", "systemctl is-active rb-sleep"); c != 0 || !strings.Contains(o, "active") {
		t.Errorf("unit not active: %s", o)
	}
	code, out = runbook(t, lab, "play", pb, "-e", "state=absent")
	if code != 0 || recap(out)["postgres1"] != "changed=2 unreachable=0 failed=0" {
		t.Errorf("removal: exit %d\n%s", code, out)
	}
	code, out = runbook(t, lab, "run", "postgres1", "-m", "apt", "-a", "name=no-such-package-xyz")
	if code != 2 || !strings.Contains(out, `no package "no-such-package-xyz"`) {
		t.Errorf("unknown package: exit %d\n%s", code, out)
	}
	code, out = runbook(t, lab, "run", "postgres1", "-m", "systemd", "-a", "name=rb-nonexistent state=started")
	if code != 2 || !strings.Contains(out, "not found") {
		t.Errorf("unknown unit: exit %d\n%s", code, out)
	}
	// a unit that takes long to stop fails the task at the timeout instead
	// of hanging the run
	code, out = runbook(t, lab, "run", "postgres1", "-m", "shell", "-a",
		`printf '[Service]\nExecStart=/bin/sleep infinity\nExecStop=/bin/sleep 30\n' > /etc/systemd/system/rb-slowstop.service`)
	if code != 0 {
		t.Fatalf("unit file: %s", out)
	}
	if code, out = runbook(t, lab, "run", "postgres1", "-m", "systemd", "-a", "name=rb-slowstop state=started daemon_reload=true"); code != 0 {
		t.Fatalf("start: %s", out)
	}
	code, out = runbook(t, lab, "run", "postgres1", "-m", "systemd", "-a", "name=rb-slowstop state=stopped timeout=2")
	if code != 2 || !strings.Contains(out, "did not finish within 2 s") {
		t.Errorf("slow stop: exit %d\n%s", code, out)
	}
}

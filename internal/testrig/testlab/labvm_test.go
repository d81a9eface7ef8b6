package testlab_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runbook-lab/runbook/internal/cli"
	"github.com/runbook-lab/runbook/internal/testrig/sshtest"
	"github.com/runbook-lab/runbook/internal/testrig/testlab"
)

// The whole lab on real VMs, as a newcomer runs it on this kind of machine
// (no internet; KVM usable on some, not on others): `runbook play site.yaml` with no inventory
// picks KVM or software emulation and a debootstrap image by itself, creates the
// network and four VMs in libvirtd inside the lab namespace, configures
// them, and ends with verify passing; a second run changes nothing.
// The real-VM tier: `make test-vm` (RUNBOOK_VM_TESTS=1).
func TestSiteOnVMs(t *testing.T) {
	if os.Getenv("RUNBOOK_VM_TESTS") == "" {
		t.Skip("real-VM tier: run with make test-vm (RUNBOOK_VM_TESTS=1)")
	}
	lab := testlab.Libvirtd(t)
	// the recaps logged below list enough tasks to show where time goes
	t.Setenv("PROFILE_TASKS_TASK_OUTPUT_LIMIT", "25")
	play := vmPlayer(t, lab, "")
	begin := time.Now()
	code, out := play("play", "site.yaml")
	if code != 0 {
		t.Fatalf("site.yaml on VMs: exit %d\n%s", code, out)
	}
	t.Logf("from nothing to a verified lab on 4 VMs: %s\n%s", time.Since(begin).Round(time.Second), slowest(out))
	t.Logf("the VMs ran under %s", accelerator(t, out))
	for _, want := range []string{"building a Debian image with debootstrap", "sync"} {
		if !strings.Contains(out, want) {
			t.Errorf("site.yaml output lacks %q\n%s", want, out)
		}
	}
	// RUNBOOK_VM_PHASES names "again" (the second run, changed=0) and
	// "commands" (the user's next commands) too; unset, everything runs
	if vmPhase("again") {
		secondRun(t, play)
	}
	if vmPhase("commands") {
		userCommands(t, play)
	}

	// The drill phases on the VMs, each drill followed by its recovery and
	// verify; RUNBOOK_VM_PHASES (comma-separated) runs a subset, since all
	// of them take over two hours under software emulation.
	phases := []struct {
		name string
		run  func()
	}{
		{"drills", func() { runDrills(t, play, allDrills) }},
		{"stress", func() { runDrills(t, play, stressDrills) }},
		{"failclosed", func() { failClosedPhases(t, play) }},
		{"verdicts", func() { drillVerdicts(t, play) }},
		{"soak", func() { soakPhase(t, play, 180*time.Second) }},
		{"crash-restart", func() { crashRestart(t, play, t.TempDir()) }},
		// the proof under load: a 10-minute campaign on busy VMs
		{"chaos", func() {
			code, out := play("play", "chaos.yaml", "-e", "duration=10m", "-e", "stress=cpu", "-e", "report_dir="+t.TempDir())
			t.Logf("chaos campaign, 10 minutes, cpu load:\n%s", out)
			if code != 0 || !strings.Contains(out, " 0 broke an invariant") {
				t.Errorf("the chaos campaign on the VMs: exit %d", code)
			}
		}},
	}
	for _, p := range phases {
		if !vmPhase(p.name) {
			t.Logf("phase %s: skipped (RUNBOOK_VM_PHASES=%s)", p.name, os.Getenv("RUNBOOK_VM_PHASES"))
			continue
		}
		begin = time.Now()
		p.run()
		t.Logf("phase %s on the VMs: %s", p.name, time.Since(begin).Round(time.Second))
	}
}

// secondRun: site.yaml again changes nothing.
func secondRun(t *testing.T, play func(args ...string) (int, string)) {
	begin := time.Now()
	code, out := play("play", "site.yaml")
	t.Logf("second run: %s\n%s", time.Since(begin).Round(time.Second), slowest(out))
	if code != 0 {
		t.Fatalf("second run: exit %d\n%s", code, out)
	}
	for h, c := range recap(out) {
		if !strings.HasPrefix(c, "changed=0 ") {
			t.Errorf("second run on %s: %s; what changed:\n%s", h, c, changedLines(out))
		}
	}
}

// userCommands: the user's next commands, with no inventory.
func userCommands(t *testing.T, play func(args ...string) (int, string)) {
	// The user's next commands, with no inventory: the lab remembers itself.
	for _, args := range [][]string{
		{"play", "verify.yaml"},
		{"play", "recover-primary.yaml", "--check", "-l", "postgres1"},
		{"run", "postgres2", "-m", "command", "-a", "true"},
		{"status"},
	} {
		begin := time.Now()
		code, out := play(args...)
		if code != 0 || !strings.Contains(out, "using the lab") {
			t.Fatalf("runbook %s after site.yaml: exit %d\n%s", strings.Join(args, " "), code, out)
		}
		t.Logf("runbook %s: %s", strings.Join(args, " "), time.Since(begin).Round(time.Second))
	}
}

// vmPhase says whether RUNBOOK_VM_PHASES (unset: every phase) names a phase.
func vmPhase(name string) bool {
	set := os.Getenv("RUNBOOK_VM_PHASES")
	return set == "" || slices.Contains(strings.Split(set, ","), name)
}

// changedLines are a run's task headers and the changed lines under them,
// so a second run that was not idle says what it did.
func changedLines(out string) string {
	var b strings.Builder
	task := ""
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "TASK ["):
			task = l
		case strings.HasPrefix(l, "changed: "):
			b.WriteString(task + "\n  " + l + "\n")
		}
	}
	return b.String()
}

// accelerator says whether a run's VMs started under KVM or, after KVM
// failed them (or with no /dev/kvm), under software emulation; machines of
// this kind differ, and each path must say which it took.
func accelerator(t *testing.T, out string) string {
	t.Helper()
	switch {
	case strings.Contains(out, "using software emulation (qemu/TCG)") && strings.Contains(out, "start (software emulation, qemu/TCG)"):
		return "software emulation (KVM unusable here)"
	case strings.Contains(out, "start (KVM)") && !strings.Contains(out, "software emulation, qemu/TCG)"):
		return "KVM"
	}
	t.Errorf("the output says neither that the VMs run under KVM nor that software emulation replaced it\n%s", out)
	return "?"
}

// One VM through the hypervisor phase, in every CI run: KVM tried (and
// given up for software emulation where it cannot run the guest), the cloud image refused and a debootstrap
// image built instead, the network, disk, seed and VM defined through
// libvirtd, the guest's address from libvirt into the inventory, SSH to it
// with a host key known before it booted, cloud-init done; a second run
// changes nothing; destroy.yaml removes it all.
func TestHypervisorPhaseOneVM(t *testing.T) {
	lab := testlab.Libvirtd(t)
	play := vmPlayer(t, lab, `lab_vms:
  - {name: postgres1, mac: "52:54:00:64:00:0b", ip: 192.168.100.11}
`)
	pb := filepath.Join(t.TempDir(), "one.yaml")
	os.WriteFile(pb, []byte(`- import_playbook: hypervisor.yaml
- hosts: postgres1
  gather_facts: false
  tasks:
    - name: the guest runs its own systemd and knows its name
      command: hostname
      register: hn
      changed_when: false
      failed_when: hn.stdout != "postgres1"
`), 0o644)
	begin := time.Now()
	code, out := play("play", pb)
	if code != 0 {
		t.Fatalf("hypervisor phase: exit %d\n%s", code, out)
	}
	t.Logf("one VM from nothing to SSH and cloud-init done: %s\n%s", time.Since(begin).Round(time.Second), slowest(out))
	t.Logf("the VM ran under %s", accelerator(t, out))
	for _, want := range []string{"building a Debian image with debootstrap", "192.168.100.11"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
	code, out = play("play", pb)
	if code != 0 {
		t.Fatalf("second run: exit %d\n%s", code, out)
	}
	for h, c := range recap(out) {
		if !strings.HasPrefix(c, "changed=0 ") {
			t.Errorf("second run on %s: %s\n%s", h, c, out)
		}
	}

	// The same hypervisor reached over SSH, as a remote one: libvirt through
	// the SSH connection, the lab key and known_hosts fetched here, the VM
	// reached through the hypervisor (a jump host).
	sshd := sshtest.StartIn(t, lab.NS, []string{testlab.Gateway})
	inv := filepath.Join(t.TempDir(), "hosts.yaml")
	os.WriteFile(inv, []byte(fmt.Sprintf("all:\n  hosts:\n    hypervisor:\n      ansible_host: %s\n      ansible_port: %d\n      ansible_user: root\n      ansible_ssh_private_key_file: %s\n",
		testlab.Gateway, sshd.Port, sshd.KeyFile)), 0o644)
	code, out = play("play", pb, "-i", inv, "--known-hosts", sshd.KnownHosts)
	if code != 0 {
		t.Fatalf("through a remote hypervisor: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "fetch") {
		t.Errorf("the lab key was not fetched from the remote hypervisor\n%s", out)
	}
	if c := recap(out)["postgres1"]; !strings.HasPrefix(c, "changed=0 ") {
		t.Errorf("postgres1 through the hypervisor: %s\n%s", c, out)
	}
}

// vmPlayer runs runbook for a VM test: no inventory (this machine is the
// hypervisor), the cloud image asked for through a proxy on a closed
// loopback port (refused, as on a host without internet, and the network
// rule holds), the guests' packages from the lab's repository (the lab
// namespace has no uplink), plus the given variables; destroy.yaml runs when
// the test ends.
func vmPlayer(t *testing.T, lab *testlab.Lab, moreVars string) func(args ...string) (int, string) {
	t.Helper()
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:9")
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:9")
	vars := filepath.Join(t.TempDir(), "vars.yaml")
	os.WriteFile(vars, []byte("guest_apt_sources: \"deb [trusted=yes] http://192.168.100.1:8080/ ./\"\n"+moreVars), 0o644)
	play := func(args ...string) (int, string) {
		return runbookNoInventory(t, lab, append(args, "-e", "@"+vars)...)
	}
	t.Cleanup(func() {
		if code, out := play("play", "destroy.yaml"); code != 0 {
			t.Errorf("destroy.yaml: exit %d\n%s", code, out)
		}
	})
	return play
}

// runbookNoInventory runs the CLI as a user would, without -i (the
// hypervisor is this machine), dialling SSH from the lab namespace.
func runbookNoInventory(t *testing.T, lab *testlab.Lab, args ...string) (int, string) {
	t.Helper()
	var out strings.Builder
	code := cli.Main(append(args, "--netns", lab.NS), strings.NewReader(""), &out, &out)
	return code, out.String()
}

// slowest is the end of a recap: each play's time, the slowest tasks.
func slowest(out string) string {
	if i := strings.Index(out, "\nplays:"); i >= 0 {
		return out[i:]
	}
	if i := strings.Index(out, "slowest tasks"); i >= 0 {
		return out[i:]
	}
	return ""
}

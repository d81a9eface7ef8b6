package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runbook-lab/runbook/internal/testrig/sshtest"
	"github.com/runbook-lab/runbook/internal/testrig/testenv"
)

// testUserInventory is one host h on srv, logged in as runbook-test.
func testUserInventory(t *testing.T, dir string, srv *sshtest.Server) string {
	return writeFile(t, dir, "inv.yaml", fmt.Sprintf("all:\n  hosts:\n    h:\n      ansible_host: %s\n      ansible_port: %d\n      ansible_user: runbook-test\n      ansible_ssh_private_key_file: %s\n",
		srv.Addrs[0], srv.Port, srv.KeyFile))
}

func needBecomeUser(t *testing.T) {
	t.Helper()
	if _, err := user.Lookup("runbook-test"); err != nil {
		testenv.SkipOrFail(t, "user runbook-test missing: run scripts/test-deps.sh as root")
	}
}

// The -K password reaches sudo only when sudo asks for it: connected as root
// with become_user nobody (sudo does not prompt), the command's stdin is the
// task's stdin alone, and PostgreSQL-style consumers never see the password.
func TestBecomePasswordNeverReachesTheCommand(t *testing.T) {
	srv := sshtest.Start(t, 1)
	if srv.User != "root" {
		t.Skip("needs to log in as root")
	}
	dir, err := os.MkdirTemp("", "runbook-become-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777) // nobody writes the file
	out := filepath.Join(dir, "f")
	pb := writeFile(t, dir, "play.yaml", fmt.Sprintf(`- hosts: all
  gather_facts: false
  tasks:
    - shell: cat > %s
      args:
        stdin: data
        stdin_add_newline: false
      become: true
      become_user: nobody
`, out))
	const pw = "S3cret-become-pw"
	r := runMain(t, pw+"\n", "play", pb, "-i", srv.Inventory(t, ""), "--known-hosts", srv.KnownHosts, "-K")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "data" {
		t.Errorf("the command's stdin was %q, want %q (the password leaked into it)", b, "data")
	}
}

// A wrong password fails with a clear message and never eats the command's
// stdin as more attempts; the right one runs the command as root.
func TestBecomeWrongPasswordKeepsStdin(t *testing.T) {
	needBecomeUser(t)
	srv := sshtest.Start(t, 1)
	dir := t.TempDir()
	inv := testUserInventory(t, dir, srv)
	pb := writeFile(t, dir, "play.yaml", `- hosts: all
  gather_facts: false
  tasks:
    - shell: cat
      args:
        stdin: "line1\nline2\nline3\n"
      become: true
      register: r
    - assert:
        that: ['r.stdout == "line1\nline2\nline3"']
`)
	r := runMain(t, "wrong-pw\n", "play", pb, "-i", inv, "--known-hosts", srv.KnownHosts, "-K")
	if r.code != 2 || !strings.Contains(r.stdout, "become failed") {
		t.Errorf("wrong password: exit %d, want 2 with 'become failed'\n%s", r.code, r.stdout)
	}
	if strings.Contains(r.stdout, "line2") {
		t.Errorf("stdin was consumed by sudo:\n%s", r.stdout)
	}
	r = runMain(t, "runbook-test-pw\n", "play", pb, "-i", inv, "--known-hosts", srv.KnownHosts, "-K")
	if r.code != 0 {
		t.Errorf("right password: exit %d\n%s", r.code, r.stdout)
	}
}

// Ctrl-C while a become command runs stops the command's whole process tree
// (children run as root, which the login user's sshd cannot signal).
func TestBecomeInterruptKillsTheRemoteTree(t *testing.T) {
	needBecomeUser(t)
	srv := sshtest.Start(t, 1)
	dir := t.TempDir()
	inv := testUserInventory(t, dir, srv)
	tag := fmt.Sprintf("%d", 3000+time.Now().UnixNano()%997)
	pb := writeFile(t, dir, "play.yaml", fmt.Sprintf(`- hosts: all
  gather_facts: false
  tasks:
    - shell: "sleep %[1]s.1 & sleep %[1]s.2 & wait"
      become: true
`, tag))
	pgrep := func() string {
		out, _ := exec.Command("pgrep", "-f", "sleep "+tag+`\.`).Output()
		return strings.TrimSpace(string(out))
	}
	cmd := exec.Command(os.Args[0], "play", pb, "-i", inv, "--known-hosts", srv.KnownHosts, "-K")
	cmd.Env = append(os.Environ(), "RUNBOOK_AS_MAIN=1")
	cmd.Stdin = strings.NewReader("runbook-test-pw\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer exec.Command("pkill", "-f", "sleep "+tag+`\.`).Run()
	deadline := time.Now().Add(20 * time.Second)
	for len(strings.Fields(pgrep())) < 2 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the command never started:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("runbook did not stop after SIGINT:\n%s", out.String())
	}
	deadline = time.Now().Add(5 * time.Second)
	for pgrep() != "" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if left := pgrep(); left != "" {
		t.Errorf("remote children still running after Ctrl-C: pids %s", left)
	}
}

// become may be a template, decided for each host (and each loop item when
// it names the item), at the play's level and the task's, as in Ansible:
// robertdebock's roles write `become: "{{ bootstrap_become }}"`.
func TestTemplatedBecome(t *testing.T) {
	srv := sshtest.Start(t, 2)
	if srv.User != "root" {
		t.Skip("needs to log in as root")
	}
	dir := t.TempDir()
	pb := writeFile(t, dir, "play.yaml", `- hosts: all
  gather_facts: false
  become: "{{ .play_become }}"
  become_user: nobody
  vars:
    play_become: "{{ if eq .inventory_hostname \"host1\" }}yes{{ else }}no{{ end }}"
  tasks:
    - command: id -un
      register: at_play
    - command: id -un
      become: "{{ ne .play_become \"yes\" }}"
      register: at_task
    - command: id -un
      become: "{{ .item }}"
      loop: [false, true]
      register: per_item
    - debug:
        msg: "{{ .inventory_hostname }} play={{ .at_play.stdout }} task={{ .at_task.stdout }} items={{ join \",\" (mapAttr \"stdout\" .per_item.results) }}"
`)
	r := runMain(t, "", "play", pb, "-i", srv.Inventory(t, ""), "--known-hosts", srv.KnownHosts)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"host1 play=nobody task=root items=root,nobody", "host2 play=root task=nobody items=root,nobody"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q\n%s", want, r.stdout)
		}
	}
}

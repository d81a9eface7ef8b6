package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runbook-lab/runbook/internal/testrig/sshtest"
)

// TestMain lets a test re-run this binary as the real command (for signals).
func TestMain(m *testing.M) {
	if os.Getenv("RUNBOOK_AS_MAIN") == "1" {
		os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	// a lab recorded on this machine must not change what tests run on
	dir, _ := os.MkdirTemp("", "runbook-cli-test-")
	os.Setenv("RUNBOOK_LAB_FILE", filepath.Join(dir, "none", "lab.yaml"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func runMain(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var recapRE = regexp.MustCompile(`(?m)^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)

// recap parses PLAY RECAP into host -> [ok changed unreachable failed].
func recap(out string) map[string][4]string {
	m := map[string][4]string{}
	for _, r := range recapRE.FindAllStringSubmatch(out, -1) {
		m[r[1]] = [4]string{r[2], r[3], r[4], r[5]}
	}
	return m
}

const sshPlay = `- name: configure over ssh
  hosts: all
  tasks:
    - name: a directory per host
      file:
        path: "{{ .base }}/{{ .inventory_hostname }}"
        state: directory
    - name: a config per host
      copy:
        dest: "{{ .base }}/{{ .inventory_hostname }}/app.conf"
        content: "host={{ .inventory_hostname }} os={{ .facts.os_id }}\n"
    - name: read it back
      command: cat {{ .base }}/{{ .inventory_hostname }}/app.conf
      register: conf
      changed_when: false
      check_mode: false
    - assert:
        that: ['conf.stdout == "host=" + inventory_hostname + " os=" + facts.os_id']
`

// A play over real SSH to three hosts: applies, then a second run reports
// changed=0, and --check changes nothing.
func TestSSHPlayIsIdempotent(t *testing.T) {
	srv := sshtest.Start(t, 3)
	dir := t.TempDir()
	inv := srv.Inventory(t, "")
	pb := writeFile(t, dir, "play.yaml", sshPlay)
	base := filepath.Join(dir, "out")
	common := []string{"play", pb, "-i", inv, "--known-hosts", srv.KnownHosts, "-e", "base=" + base}
	r := runMain(t, "", common...)
	if r.code != 0 {
		t.Fatalf("first run exit %d\n%s\n%s\n%s", r.code, r.stdout, r.stderr, srv.ReadLog())
	}
	for _, h := range []string{"host1", "host2", "host3"} {
		if got := recap(r.stdout)[h]; got[1] != "2" {
			t.Errorf("%s first run changed=%s, want 2\n%s", h, got[1], r.stdout)
		}
		if b, _ := os.ReadFile(filepath.Join(base, h, "app.conf")); !strings.HasPrefix(string(b), "host="+h) {
			t.Errorf("%s: file %q", h, b)
		}
	}
	r = runMain(t, "", common...)
	for h, c := range recap(r.stdout) {
		if c[1] != "0" || r.code != 0 {
			t.Errorf("%s second run: changed=%s exit=%d\n%s", h, c[1], r.code, r.stdout)
		}
	}
	os.WriteFile(filepath.Join(base, "host2", "app.conf"), []byte("edited\n"), 0o644)
	r = runMain(t, "", append(common, "--check", "--diff")...)
	if !strings.Contains(r.stdout, "-edited") || recap(r.stdout)["host2"][1] != "1" {
		t.Errorf("--check --diff did not report the drift:\n%s", r.stdout)
	}
	if b, _ := os.ReadFile(filepath.Join(base, "host2", "app.conf")); string(b) != "edited\n" {
		t.Errorf("--check changed the file: %q", b)
	}
}

// A host whose key differs from known_hosts is unreachable with a message
// naming it; an unreachable host gives exit 4 and the others finish.
func TestSSHHostKeyMismatchAndUnreachable(t *testing.T) {
	srv := sshtest.Start(t, 3)
	dir := t.TempDir()
	kh, _ := os.ReadFile(srv.KnownHosts)
	other := sshtest.Start(t, 1) // a different host key
	okh, _ := os.ReadFile(other.KnownHosts)
	wrongKey := strings.SplitN(strings.TrimSpace(string(okh)), " ", 2)[1]
	lines := strings.Split(strings.TrimSpace(string(kh)), "\n")
	lines[1] = strings.SplitN(lines[1], " ", 2)[0] + " " + wrongKey
	writeFile(t, dir, "known_hosts", strings.Join(lines, "\n")+"\n")
	inv := srv.Inventory(t, fmt.Sprintf("    host4:\n      ansible_host: 127.0.0.250\n      ansible_port: %d\n", srv.Port))
	pb := writeFile(t, dir, "play.yaml", "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: /bin/true\n")
	r := runMain(t, "", "play", pb, "-i", inv, "--known-hosts", filepath.Join(dir, "known_hosts"))
	if r.code != 4 {
		t.Fatalf("exit %d, want 4\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "host key for host2") || !strings.Contains(r.stdout, "does not match") {
		t.Errorf("mismatch not reported for host2:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "fatal: [host4]: UNREACHABLE!") {
		t.Errorf("host4 not unreachable:\n%s", r.stdout)
	}
	rc := recap(r.stdout)
	if rc["host1"][1] != "1" || rc["host3"][1] != "1" || rc["host2"][2] != "1" || rc["host4"][2] != "1" {
		t.Errorf("recap %v", rc)
	}
	// an unknown host key is refused unless --ssh-accept-new, which records it
	empty := writeFile(t, dir, "empty_known_hosts", "")
	r = runMain(t, "", "play", pb, "-i", srv.Inventory(t, ""), "--known-hosts", empty, "-l", "host1")
	if r.code != 4 || !strings.Contains(r.stdout, "is not in") {
		t.Errorf("unknown key accepted? exit %d\n%s", r.code, r.stdout)
	}
	r = runMain(t, "", "play", pb, "-i", srv.Inventory(t, ""), "--known-hosts", empty, "-l", "host1", "--ssh-accept-new")
	if r.code != 0 {
		t.Errorf("--ssh-accept-new: exit %d\n%s", r.code, r.stdout)
	}
	if b, _ := os.ReadFile(empty); !strings.Contains(string(b), "[127.0.0.2]") {
		t.Errorf("key not recorded: %q", b)
	}
}

// Become through sudo with a password given once (-K): the command runs as
// root, and the password appears nowhere in the output, even with -vv.
func TestSSHBecomeWithPassword(t *testing.T) {
	if _, err := user.Lookup("runbook-test"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("user runbook-test missing: run scripts/test-deps.sh")
		}
		t.Skip("user runbook-test missing: run scripts/test-deps.sh as root")
	}
	srv := sshtest.Start(t, 1)
	dir := t.TempDir()
	inv := testUserInventory(t, dir, srv)
	pb := writeFile(t, dir, "play.yaml", `- hosts: all
  gather_facts: false
  tasks:
    - name: as myself
      command: id -un
      register: me
    - name: as root
      command: id -un
      become: true
      register: root
    - name: stdin reaches the command after the password
      shell: cat
      args:
        stdin: through sudo
      become: true
      register: piped
    - assert:
        that:
          - me.stdout == "runbook-test"
          - root.stdout == "root"
          - piped.stdout == "through sudo"
`)
	const pw = "runbook-test-pw"
	r := runMain(t, pw+"\n", "play", pb, "-i", inv, "--known-hosts", srv.KnownHosts, "-K", "-vv")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, pw) {
		t.Errorf("the become password was printed:\n%s", r.stdout)
	}
	// without the password sudo must not hang: a clear failure
	r = runMain(t, "", "play", pb, "-i", inv, "--known-hosts", srv.KnownHosts)
	if r.code != 2 || !strings.Contains(r.stdout, "use -K") {
		t.Errorf("no password: exit %d\n%s", r.code, r.stdout)
	}
}

// A jump host (the lab's VMs sit behind the hypervisor): host2 is reached
// through host1's connection.
func TestSSHJumpHost(t *testing.T) {
	srv := sshtest.Start(t, 2)
	dir := t.TempDir()
	inv := writeFile(t, dir, "inv.yaml", fmt.Sprintf(`all:
  vars:
    ansible_port: %d
    ansible_ssh_private_key_file: %s
  hosts:
    bastion: {ansible_host: %s}
    inner: {ansible_host: %s, jump: bastion}
`, srv.Port, srv.KeyFile, srv.Addrs[0], srv.Addrs[1]))
	pb := writeFile(t, dir, "play.yaml", "- hosts: inner\n  gather_facts: false\n  tasks:\n    - shell: echo $SSH_CONNECTION\n      register: c\n    - assert:\n        that: ['c.stdout contains \"127.0.0.3\"']\n")
	r := runMain(t, "", "play", pb, "-i", inv, "--known-hosts", srv.KnownHosts)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// the jump is really used: with the bastion down, inner is unreachable
	broken := strings.Replace(readFile(t, inv), "bastion: {ansible_host: "+srv.Addrs[0], "bastion: {ansible_host: 127.0.0.250", 1)
	r = runMain(t, "", "play", pb, "-i", writeFile(t, dir, "inv2.yaml", broken), "--known-hosts", srv.KnownHosts)
	if r.code != 4 || !strings.Contains(r.stdout, "jump host") {
		t.Errorf("inner reached without its jump host? exit %d\n%s", r.code, r.stdout)
	}
}

func readFile(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Ctrl-C in the middle of a play stops the running remote command and
// leaves no partial file behind.
func TestSSHInterruptLeavesNoPartialFile(t *testing.T) {
	srv := sshtest.Start(t, 1)
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, bytes.Repeat([]byte("0123456789abcdef\n"), 24<<20/17), 0o644); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(dir, "dest")
	os.MkdirAll(dest, 0o755)
	marker := fmt.Sprintf("runbook-interrupt-%d", time.Now().UnixNano())
	pb := writeFile(t, dir, "play.yaml", fmt.Sprintf(`- hosts: all
  gather_facts: false
  tasks:
    - name: slow copy
      copy:
        src: %s
        dest: %s/copy
    - name: long command
      shell: sleep 300 # %s
`, big, dest, marker))
	cmd := exec.Command(os.Args[0], "play", pb, "-i", srv.Inventory(t, ""), "--known-hosts", srv.KnownHosts)
	cmd.Env = append(os.Environ(), "RUNBOOK_AS_MAIN=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// interrupt while the temporary file is being written
	deadline := time.Now().Add(20 * time.Second)
	for {
		if tmp, _ := filepath.Glob(filepath.Join(dest, ".runbook.*")); len(tmp) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the copy never started:\n%s", out.String())
		}
		time.Sleep(time.Millisecond)
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
	if cmd.ProcessState.ExitCode() == 0 {
		t.Errorf("exit 0 after interrupt:\n%s", out.String())
	}
	time.Sleep(500 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(dest, "copy")); err == nil {
		st, _ := os.Stat(filepath.Join(dest, "copy"))
		bst, _ := os.Stat(big)
		if st.Size() != bst.Size() {
			t.Errorf("a partial file was left: %d of %d bytes", st.Size(), bst.Size())
		}
	}
	if tmp, _ := filepath.Glob(filepath.Join(dest, ".runbook.*")); len(tmp) > 0 {
		t.Errorf("temporary file left: %v", tmp)
	}
	if b, _ := exec.Command("pgrep", "-f", marker).Output(); len(b) > 0 {
		t.Errorf("remote command still running: %s", b)
	}
}

// A host the inventory names localhost (or 127.0.0.1) with SSH settings is
// reached over SSH with them, never run locally; the implicit localhost and
// ansible_connection: local stay local.
func TestInventoryLocalhostGoesOverSSH(t *testing.T) {
	srv := sshtest.Start(t, 1)
	dir := t.TempDir()
	inv := writeFile(t, dir, "inv.yaml", fmt.Sprintf(`all:
  hosts:
    localhost:
      ansible_port: %d
      ansible_user: nobody-such-user
      ansible_ssh_private_key_file: %s
    127.0.0.1:
      ansible_port: 1
`, srv.Port, srv.KeyFile))
	pb := writeFile(t, dir, "play.yaml", "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: /bin/true\n")
	r := runMain(t, "", "play", pb, "-i", inv, "--known-hosts", srv.KnownHosts)
	if r.code != 4 {
		t.Fatalf("exit %d, want 4 (both hosts unreachable over SSH)\n%s", r.code, r.stdout)
	}
	if rc := recap(r.stdout); rc["localhost"][2] != "1" || rc["127.0.0.1"][2] != "1" {
		t.Errorf("localhost ran locally? recap %v\n%s", rc, r.stdout)
	}
	// without an inventory, localhost is this machine
	r = runMain(t, "", "play", pb)
	if r.code != 0 {
		t.Errorf("implicit localhost: exit %d\n%s", r.code, r.stdout)
	}
}

// Commands of one host run in its persistent shell across tasks (the
// same parent process); meta: reset_connection logs in anew (a new
// shell), as Ansible's does.
func TestResetConnectionStartsANewShell(t *testing.T) {
	srv := sshtest.Start(t, 1)
	dir := t.TempDir()
	pb := writeFile(t, dir, "pb.yaml", "- hosts: all\n  gather_facts: false\n  tasks:\n"+
		"    - shell: echo $PPID\n      register: r1\n"+
		"    - shell: echo $PPID\n      register: r2\n"+
		"    - meta: reset_connection\n"+
		"    - shell: echo $PPID\n      register: r3\n"+
		"    - debug:\n        msg: \"shells {{ .r1.stdout }} {{ .r2.stdout }} {{ .r3.stdout }}\"\n")
	r := runMain(t, "", "play", pb, "-i", srv.Inventory(t, ""), "--known-hosts", srv.KnownHosts, "-l", "host1")
	m := regexp.MustCompile(`shells (\d+) (\d+) (\d+)`).FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if m[1] != m[2] {
		t.Errorf("two tasks ran in different shells (%s, %s): no persistent shell", m[1], m[2])
	}
	if m[2] == m[3] {
		t.Errorf("the same shell (pid %s) before and after reset_connection", m[2])
	}
}

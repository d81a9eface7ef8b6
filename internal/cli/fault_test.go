package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbook-lab/runbook/internal/testrig/sshtest"
)

// A host that goes silent in the middle of a command (its sshd frozen, as
// when packets are dropped) becomes unreachable after the keepalives go
// unanswered; the other host finishes, the exit code is 4 and the retry
// file names the silent host.
func TestSilentHostIsUnreachableNotAHang(t *testing.T) {
	good := sshtest.Start(t, 1)
	silent := sshtest.Start(t, 1)
	dir := t.TempDir()
	inv := writeFile(t, dir, "inv.yaml", fmt.Sprintf(`all:
  hosts:
    good: {ansible_host: %s, ansible_port: %d, ansible_user: %s, ansible_ssh_private_key_file: %s}
    silent: {ansible_host: %s, ansible_port: %d, ansible_user: %s, ansible_ssh_private_key_file: %s}
`, good.Addrs[0], good.Port, good.User, good.KeyFile, silent.Addrs[0], silent.Port, silent.User, silent.KeyFile))
	kh, _ := os.ReadFile(good.KnownHosts)
	kh2, _ := os.ReadFile(silent.KnownHosts)
	known := writeFile(t, dir, "known_hosts", string(kh)+string(kh2))
	pb := writeFile(t, dir, "play.yaml", `- hosts: all
  gather_facts: false
  tasks:
    - command: /bin/true
    - name: wait here
      command: sleep 2
    - command: /bin/true
`)
	home := t.TempDir()
	cmd := exec.Command(os.Args[0], "play", pb, "-i", inv, "--known-hosts", known, "-T", "2")
	cmd.Env = append(os.Environ(), "RUNBOOK_AS_MAIN=1", "HOME="+home, "XDG_CACHE_HOME="+home)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "TASK [wait here]") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("never reached the waiting task:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	silent.Freeze()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the run hangs on a silent host:\n%s", out.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 4 {
		t.Errorf("exit %d, want 4\n%s", code, out.String())
	}
	rc := recap(out.String())
	if rc["good"][0] != "3" || rc["silent"][2] != "1" {
		t.Errorf("recap %v, want good ok=3 and silent unreachable\n%s", rc, out.String())
	}
	if !strings.Contains(out.String(), "play.retry") {
		t.Errorf("no retry file:\n%s", out.String())
	}
}

// The task keyword timeout stops a task that runs too long and fails it.
func TestTaskTimeout(t *testing.T) {
	dir := t.TempDir()
	pb := writeFile(t, dir, "play.yaml", `- hosts: localhost
  gather_facts: false
  tasks:
    - command: sleep 30
      timeout: 1
`)
	begin := time.Now()
	r := runMain(t, "", "play", pb)
	if r.code != 2 || !strings.Contains(r.stdout, "took longer than its timeout of 1s") {
		t.Errorf("exit %d\n%s", r.code, r.stdout)
	}
	if time.Since(begin) > 20*time.Second {
		t.Errorf("the task was not stopped at its timeout")
	}
}

// until with delay: 0 retries at once (0 is a value, not "unset").
func TestUntilDelayZero(t *testing.T) {
	dir := t.TempDir()
	pb := writeFile(t, dir, "play.yaml", `- hosts: localhost
  gather_facts: false
  tasks:
    - command: /bin/false
      register: r
      until: r.rc == 0
      retries: 3
      delay: 0
`)
	begin := time.Now()
	r := runMain(t, "", "play", pb)
	if r.code != 2 || !strings.Contains(r.stdout, "after 4 attempts") {
		t.Errorf("exit %d\n%s", r.code, r.stdout)
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("delay: 0 waited %s", d)
	}
}

// -k and -K read one line each from the same piped stdin.
func TestAskPassThenBecomePassFromOnePipe(t *testing.T) {
	a := &app{stdin: strings.NewReader("ssh-pw\nbecome-pw\n")}
	one, _ := a.readSecret("")
	two, _ := a.readSecret("")
	if string(one) != "ssh-pw" || string(two) != "become-pw" {
		t.Errorf("read %q then %q", one, two)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer process and a reader test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// strategy: free lets a fast host run ahead: b finishes both its tasks
// while a still sleeps in its first.
func TestStrategyFree(t *testing.T) {
	dir := t.TempDir()
	inv := writeFile(t, dir, "inv.yaml", "all:\n  hosts:\n    a: {ansible_connection: local}\n    b: {ansible_connection: local}\n")
	pb := writeFile(t, dir, "play.yaml", `- hosts: all
  gather_facts: false
  strategy: free
  tasks:
    - shell: 'if [ {{ .inventory_hostname }} = a ]; then sleep 1.5; fi; date +%s%N > {{ .dir }}/{{ .inventory_hostname }}-1'
    - shell: 'date +%s%N > {{ .dir }}/{{ .inventory_hostname }}-2'
    - set_fact:
        seen: "{{ .inventory_hostname }}"
    - debug:
        msg: "{{ .seen }}"
`)
	r := runMain(t, "", "play", pb, "-i", inv, "-e", "dir="+dir)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	read := func(name string) int64 {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		fmt.Sscan(string(b), &n)
		return n
	}
	if read("b-2") >= read("a-1") {
		t.Errorf("b waited for a: b's second task at %d, a's first at %d", read("b-2"), read("a-1"))
	}
	if rc := recap(r.stdout); rc["a"][0] != "4" || rc["b"][0] != "4" {
		t.Errorf("recap %v\n%s", rc, r.stdout)
	}
}

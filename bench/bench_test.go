// Package bench compares runbook's per-task overhead with a bare SSH loop
// (the floor) and tuned Ansible, on the same loopback sshd hosts. Run with
// `make bench` (bench/run.sh prints the table); nothing here asserts a time.
package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/runbook-lab/runbook/internal/cli"
	"github.com/runbook-lab/runbook/internal/sshtest"
)

func size() (hosts, tasks int) {
	hosts, tasks = 10, 50
	if v, err := strconv.Atoi(os.Getenv("BENCH_HOSTS")); err == nil {
		hosts = v
	}
	if v, err := strconv.Atoi(os.Getenv("BENCH_TASKS")); err == nil {
		tasks = v
	}
	return hosts, tasks
}

func playbook(b *testing.B, tasks int) string {
	var s strings.Builder
	s.WriteString("- hosts: all\n  gather_facts: false\n  tasks:\n")
	for i := 0; i < tasks; i++ {
		fmt.Fprintf(&s, "    - name: noop %d\n      command: /bin/true\n", i)
	}
	p := filepath.Join(b.TempDir(), "noop.yaml")
	os.WriteFile(p, []byte(s.String()), 0o644)
	return p
}

// BenchmarkNoop runs M tasks of /bin/true on N hosts; one op is the whole
// workload.
func BenchmarkNoop(b *testing.B) {
	n, m := size()
	srv := sshtest.Start(b, n)
	// root's shell here sources a heavy ~/.bashrc (pyenv) on every SSH
	// command; measure the runners, not that: log in as the plain test user.
	if _, err := user.Lookup("runbook-test"); err == nil {
		srv.User = "runbook-test"
	}
	inv := srv.Inventory(b, "")
	pb := playbook(b, m)

	b.Run("floor", func(b *testing.B) {
		for b.Loop() {
			floor(b, srv, m)
		}
	})
	b.Run("runbook", func(b *testing.B) {
		for b.Loop() {
			var out bytes.Buffer
			if code := cli.Main([]string{"play", pb, "-i", inv, "--known-hosts", srv.KnownHosts, "-f", strconv.Itoa(n)}, nil, &out, &out); code != 0 {
				b.Fatalf("exit %d\n%s", code, out.String())
			}
		}
	})
	b.Run("ansible", func(b *testing.B) {
		if _, err := exec.LookPath("ansible-playbook"); err != nil {
			b.Skip("ansible-playbook not installed (apt-get install ansible-core)")
		}
		dir := b.TempDir()
		cfg := filepath.Join(dir, "ansible.cfg")
		os.WriteFile(cfg, []byte(fmt.Sprintf(`[defaults]
forks = %d
gathering = explicit
host_key_checking = True
interpreter_python = /usr/bin/python3
[ssh_connection]
pipelining = True
ssh_args = -o ControlMaster=auto -o ControlPersist=120s -o UserKnownHostsFile=%s
control_path_dir = %s/cp
`, n, srv.KnownHosts, dir)), 0o644)
		for b.Loop() {
			cmd := exec.Command("ansible-playbook", "-i", inv, pb)
			cmd.Env = append(os.Environ(), "ANSIBLE_CONFIG="+cfg, "ANSIBLE_NOCOLOR=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("ansible: %v\n%s", err, out)
			}
		}
	})
}

// floor is the least any runner can do: one connection per host, then per
// task one session per host in parallel, waiting for all before the next.
func floor(b *testing.B, srv *sshtest.Server, tasks int) {
	key, _ := os.ReadFile(srv.KeyFile)
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		b.Fatal(err)
	}
	cfg := &ssh.ClientConfig{User: srv.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.FixedHostKey(srv.HostKey)}
	clients := make([]*ssh.Client, len(srv.Addrs))
	var wg sync.WaitGroup
	for i, a := range srv.Addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := ssh.Dial("tcp", fmt.Sprintf("%s:%d", a, srv.Port), cfg)
			if err != nil {
				b.Error(err)
				return
			}
			clients[i] = c
		}()
	}
	wg.Wait()
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
	}()
	for t := 0; t < tasks; t++ {
		for _, c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := c.NewSession()
				if err != nil {
					b.Error(err)
					return
				}
				defer s.Close()
				if err := s.Run("/bin/true"); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
	}
}

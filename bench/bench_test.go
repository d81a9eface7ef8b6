// Package bench compares runbook with the SSH floor (bench/floor: one
// connection per host, one session per command; no runner can do less) and
// tuned Ansible, on the same loopback sshd hosts, in one run. Run with
// `make bench` (bench/run.sh prints the table); nothing here asserts a time.
//
// Every runner is a separate process, measured the same way: wall time,
// CPU (user + system, from its rusage) and peak RSS.
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
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/runbook-lab/runbook/internal/testrig/sshtest"
)

// sizes reads BENCH_SIZES ("10x50,200x10,1000x10", hosts x tasks).
func sizes() [][2]int {
	spec := os.Getenv("BENCH_SIZES")
	if spec == "" {
		spec = "10x50"
	}
	var out [][2]int
	for _, s := range strings.Split(spec, ",") {
		var n, m int
		if _, err := fmt.Sscanf(strings.TrimSpace(s), "%dx%d", &n, &m); err == nil {
			out = append(out, [2]int{n, m})
		}
	}
	return out
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

// build compiles a command of this module into dir.
func build(b *testing.B, pkg, dir string) string {
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = ".."
	if o, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build %s: %v\n%s", pkg, err, o)
	}
	return out
}

// measure runs a command and reports its wall time, CPU seconds and peak
// RSS in MB.
func measure(b *testing.B, cmd *exec.Cmd) (wall, cpu, rssMB float64) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	begin := time.Now()
	if err := cmd.Run(); err != nil {
		tail := out.String()
		if len(tail) > 3000 {
			tail = tail[len(tail)-3000:]
		}
		b.Fatalf("%s: %v\n%s", cmd.Path, err, tail)
	}
	wall = time.Since(begin).Seconds()
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	return wall, cpu, float64(ru.Maxrss) / 1024
}

// BenchmarkFleet runs M tasks of /bin/true on N hosts per size, with the
// floor, runbook (its persistent shell per host, then a session per
// command as the floor) and (for 10 hosts) tuned Ansible; one op is the whole
// workload. Custom metrics: cpu-s/op (the process's CPU) and peak-MB.
func BenchmarkFleet(b *testing.B) {
	bin := b.TempDir()
	runbook := build(b, "./cmd/runbook", bin)
	floor := build(b, "./bench/floor", bin)
	for _, sz := range sizes() {
		n, m := sz[0], sz[1]
		b.Run(fmt.Sprintf("%dx%d", n, m), func(b *testing.B) {
			srv := sshtest.Start(b, n)
			// root's shell here sources a heavy ~/.bashrc on every command;
			// measure the runners, not that: log in as the plain test user
			if _, err := user.Lookup("runbook-test"); err == nil {
				srv.User = "runbook-test"
			}
			inv := srv.Inventory(b, "")
			pb := playbook(b, m)
			hostKey := filepath.Join(b.TempDir(), "host.pub")
			os.WriteFile(hostKey, ssh.MarshalAuthorizedKey(srv.HostKey), 0o644)
			run := func(b *testing.B, mk func() *exec.Cmd) {
				var cpu, rss float64
				for b.Loop() {
					_, c, r := measure(b, mk())
					cpu += c
					rss = max(rss, r)
				}
				b.ReportMetric(cpu/float64(b.N), "cpu-s/op")
				b.ReportMetric(rss, "peak-MB")
			}
			b.Run("floor", func(b *testing.B) {
				run(b, func() *exec.Cmd {
					args := []string{"-user", srv.User, "-key", srv.KeyFile, "-hostkey", hostKey, "-port", strconv.Itoa(srv.Port), "-tasks", strconv.Itoa(m)}
					return exec.Command(floor, append(args, srv.Addrs...)...)
				})
			})
			b.Run("runbook", func(b *testing.B) {
				run(b, func() *exec.Cmd {
					return exec.Command(runbook, "play", pb, "-i", inv, "--known-hosts", srv.KnownHosts, "-f", strconv.Itoa(n))
				})
			})
			// the same runbook with a session per command, as the floor:
			// what the persistent shell per host saves
			b.Run("runbook-sessions", func(b *testing.B) {
				run(b, func() *exec.Cmd {
					return exec.Command(runbook, "play", pb, "-i", inv, "--known-hosts", srv.KnownHosts, "-f", strconv.Itoa(n), "--ssh-per-command")
				})
			})
			b.Run("ansible", func(b *testing.B) {
				if n > 10 {
					b.Skip("tuned Ansible is measured at 10 hosts only (minutes beyond)")
				}
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
				run(b, func() *exec.Cmd {
					cmd := exec.Command("ansible-playbook", "-i", inv, pb)
					cmd.Env = append(os.Environ(), "ANSIBLE_CONFIG="+cfg, "ANSIBLE_NOCOLOR=1")
					return cmd
				})
			})
		})
	}
}

package templates

import (
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fakeFencePsql answers for this node (no -h) from $FAKE/self, one line
// per question (the last line repeats), and for a peer from $FAKE/HOST:PORT
// the same way: an answer, "hang" or "refused". A node whose PostgreSQL
// was stopped ($FAKE/stopped) refuses.
const fakeFencePsql = `#!/bin/sh
node=self
while [ $# -gt 0 ]; do
  case "$1" in -h) h=$2; shift ;; -p) node="$h:$2"; shift ;; esac
  shift
done
[ "$node" = self ] && [ -e "$FAKE/stopped" ] && { echo "no server" >&2; exit 2; }
f="$FAKE/$node"
[ -e "$f" ] || { echo "refused" >&2; exit 2; }
n=$(cat "$f.n" 2>/dev/null || echo 0); echo $((n + 1)) > "$f.n"
total=$(wc -l < "$f")
[ "$n" -ge "$total" ] && n=$((total - 1))
line=$(sed -n "$((n + 1))p" "$f")
case "$line" in
  hang) exec sleep 30 ;;
  refused) echo "refused" >&2; exit 2 ;;
  *) echo "$line" ;;
esac
`

// runuser -u postgres -- CMD: CMD as it is (the test is not root).
const fakeRunuser = `#!/bin/sh
while [ "$1" != -- ]; do shift; done
shift
exec "$@"
`
const fakeSystemctl = `#!/bin/sh
echo "$*" >> "$FAKE/calls"
[ "$1" = stop ] && : > "$FAKE/stopped"
true
`

// The self-fence as a table: what a primary's guard does for each way
// its peers and pgpool can look. It runs the real script with bash against
// fake psql and systemctl commands; pgpool's port is a real loopback
// listener (open) or a port nobody listens on (closed).
func TestSelfFenceDecisions(t *testing.T) {
	for _, tool := range []string{"bash", "timeout"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " missing")
		}
	}
	openPort := acceptingPort(t, "127.0.0.1")
	gone, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := gone.Addr().(*net.TCPAddr).Port
	gone.Close()
	// a database peer whose port opens: 127.0.0.2 listens, 127.0.0.3 not
	peerPort := acceptingPort(t, "127.0.0.2")

	text, _ := fs.ReadFile(Files, "files/pg-selffence.sh.tmpl")
	// every address is on loopback: the script opens TCP connections
	render := func(pgpoolPort, pgPort int) string {
		vars := map[string]any{"inventory_hostname": "postgres1", "pg_unit": "postgresql@15-main", "pg_data": "/nonexistent", "pgpool_addr": "127.0.0.1",
			"pgpool_port": pgpoolPort, "pg_port": pgPort, "selffence_after": 12, "selffence_reply_window": 5,
			"hostvars": map[string]any{"postgres1": map[string]any{"ansible_host": "127.0.0.1"},
				"postgres2": map[string]any{"ansible_host": "127.0.0.2"}, "postgres3": map[string]any{"ansible_host": "127.0.0.3"}}}
		s, err := Render("pg-selffence.sh", string(text), vars)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	const p2, p3 = "p2", "p3" // the peers' psql answers, by name: their port differs per case
	cases := []struct {
		name   string
		self   string            // this node's answers, in order
		peers  map[string]string // peer -> answers
		pgpool bool              // pgpool's port open
		peerUp bool              // postgres2's port opens (TCP), whatever its psql answers
		calls  string
		logHas string
		orphan bool // a postmaster runs outside its unit: the fence must stop it by its pid file
		signal bool // standby.signal in the data directory
		after  int  // the fencing bound in seconds (default 2)
		noAsk  bool // this node's PostgreSQL must never be asked
	}{
		{name: "cut off from pgpool and every standby after it had them: stopped",
			self: "f|1|1\nf|1|0", calls: "kill --kill-whom=main --signal=SIGQUIT postgresql@15-main|stop postgresql@15-main", logHas: "cut off from pgpool and every standby"},
		{name: "a cluster still being built (never a peer): left alone",
			self: "f|1|0"},
		{name: "pgpool reachable: left alone",
			self: "f|1|1\nf|1|0", pgpool: true},
		{name: "a standby keeps replying: left alone, pgpool or not",
			self: "f|1|1"},
		{name: "another node is a primary on a later timeline: stopped at once",
			self: "f|1|0", peers: map[string]string{p2: "f|2"}, pgpool: true,
			calls: "kill --kill-whom=main --signal=SIGQUIT postgresql@15-main|stop postgresql@15-main", logHas: "is a primary on timeline 2"},
		{name: "a postmaster outside its unit (a cancelled start job; a container's cgroup systemd cannot kill) is stopped by its pid file",
			self: "f|1|0", peers: map[string]string{p2: "f|2"}, pgpool: true, orphan: true,
			calls: "kill --kill-whom=main --signal=SIGQUIT postgresql@15-main|stop postgresql@15-main", logHas: "signalling postmaster"},
		{name: "another primary on the same or an earlier timeline: not this node's to judge",
			self: "f|3|0", peers: map[string]string{p2: "f|3", p3: "f|2"}, pgpool: true},
		{name: "a peer that does not answer is never taken for a primary",
			self: "f|1|0", peers: map[string]string{p2: "hang", p3: "refused"}, pgpool: true},
		{name: "a standby is never fenced",
			self: "t||", peers: map[string]string{p2: "f|9"}},
		{name: "cut off, then too loaded to answer itself in time: its last answer stands, stopped (the VM tier under CPU load)",
			self: "f|1|1\nf|1|0\nhang", calls: "kill --kill-whom=main --signal=SIGQUIT postgresql@15-main|stop postgresql@15-main", logHas: "cut off from pgpool and every standby"},
		{name: "too loaded to answer from the moment it is cut off: the standby it had before is not remembered, stopped (the VM tier under CPU load)",
			self: "f|1|1\nhang", calls: "kill --kill-whom=main --signal=SIGQUIT postgresql@15-main|stop postgresql@15-main", logHas: "cut off from pgpool and every standby"},
		{name: "a standby by its data directory is never asked, never fenced (standby.signal: no psql every second)",
			self: "f|1|0", peers: map[string]string{p2: "f|9"}, signal: true, noAsk: true},
		{name: "this node does not answer: nothing is judged",
			self: "hang", peers: map[string]string{p2: "f|9"}},
		{name: "garbage from this node is no answer",
			self: "ERROR: x", peers: map[string]string{p2: "f|9"}},
		{name: "pgpool not running yet, the standby's replies late: left alone while a peer's port opens (the VM tier's site.yaml under load)",
			self: "f|1|1\nf|1|0", peerUp: true},
		{name: "pgpool not running yet, too loaded to answer itself: left alone while a peer's port opens",
			self: "f|1|1\nhang", peerUp: true},
		{name: "contact comes back before the bound: left alone",
			// two silent rounds between contacts, well inside the bound
			// even when a loaded machine makes a round take seconds
			self: "f|1|1\nf|1|0\nf|1|0\nf|1|1\nf|1|0\nf|1|0\nf|1|1", after: 6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			bin, fake := filepath.Join(dir, "bin"), filepath.Join(dir, "fake")
			os.MkdirAll(bin, 0o755)
			os.MkdirAll(fake, 0o755)
			os.WriteFile(filepath.Join(bin, "psql"), []byte(fakeFencePsql), 0o755)
			os.WriteFile(filepath.Join(bin, "runuser"), []byte(fakeRunuser), 0o755)
			os.WriteFile(filepath.Join(bin, "systemctl"), []byte(fakeSystemctl), 0o755)
			os.WriteFile(filepath.Join(bin, "logger"), []byte("#!/bin/sh\ntrue\n"), 0o755)
			os.WriteFile(filepath.Join(fake, "self"), []byte(c.self+"\n"), 0o644)
			pgPort := closedPort
			if c.peerUp {
				pgPort = peerPort
			}
			for p, s := range c.peers {
				addr := map[string]string{p2: "127.0.0.2", p3: "127.0.0.3"}[p] + ":" + strconv.Itoa(pgPort)
				os.WriteFile(filepath.Join(fake, addr), []byte(s+"\n"), 0o644)
			}
			port := closedPort
			if c.pgpool {
				port = openPort
			}
			script := filepath.Join(dir, "selffence.sh")
			os.WriteFile(script, []byte(render(port, pgPort)), 0o755)
			log := filepath.Join(dir, "fence.log")
			data := filepath.Join(dir, "data")
			os.MkdirAll(data, 0o700)
			if c.signal {
				os.WriteFile(filepath.Join(data, "standby.signal"), nil, 0o600)
			}
			var orphan *exec.Cmd
			if c.orphan {
				// a process named postgres, as the postmaster's pid file names it
				sleep, _ := exec.LookPath("sleep")
				b, _ := os.ReadFile(sleep)
				os.WriteFile(filepath.Join(bin, "postgres"), b, 0o755)
				orphan = exec.Command(filepath.Join(bin, "postgres"), "60")
				if err := orphan.Start(); err != nil {
					t.Fatal(err)
				}
				defer orphan.Process.Kill()
				os.WriteFile(filepath.Join(data, "postmaster.pid"), []byte(strconv.Itoa(orphan.Process.Pid)+"\n"+data+"\n"), 0o600)
			}
			cmd := exec.Command("bash", script)
			cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "RUNBOOK_PSQL=psql", "FAKE="+fake, "RUNBOOK_FENCE_DATA="+data,
				"RUNBOOK_FENCE_AFTER="+strconv.Itoa(max(c.after, 2)), "RUNBOOK_FENCE_ROUNDS="+strconv.Itoa(6), "RUNBOOK_FENCE_LOG="+log, "RUNBOOK_FENCE_ASK_TIMEOUT=2")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("exit: %v %s", err, out)
			}
			b, _ := os.ReadFile(filepath.Join(fake, "calls"))
			calls := strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", "|")
			lg, _ := os.ReadFile(log)
			if calls != c.calls {
				t.Errorf("calls %q, want %q\nlog:\n%s", calls, c.calls, lg)
			}
			if !strings.Contains(string(lg), c.logHas) {
				t.Errorf("log lacks %q:\n%s", c.logHas, lg)
			}
			if _, err := os.Stat(filepath.Join(fake, "self.n")); c.noAsk && err == nil {
				t.Error("this node was asked although its data directory says standby")
			}
			if orphan != nil {
				if err := orphan.Wait(); err == nil {
					t.Error("the postmaster outside its unit still ran after the fence")
				}
			}
		})
	}
}

// acceptingPort listens on addr (loopback) and closes every connection at
// once, until the test and its parallel cases end; it returns the port.
func acceptingPort(t *testing.T, addr string) int {
	l, err := net.Listen("tcp", addr+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() }) // after the parallel cases, unlike defer
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

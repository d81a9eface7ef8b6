package testlab_test

import (
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runbook-lab/runbook/internal/testlab"
)

// The writer runs on postgres-client and inserts numbered rows through
// pgpool, one session each, logging every acknowledged commit and every
// error with a timestamp.
const writerScript = `cat > /tmp/writer.sh <<'EOS'
P="psql -X -h 127.0.0.1 -p 9999 -U postgres -d postgres -qAt"
$P -c "DROP TABLE IF EXISTS drill; CREATE TABLE drill (id int PRIMARY KEY)" >/dev/null
i=0
while [ ! -f /tmp/writer.stop ]; do
  i=$((i+1))
  if $P -c "INSERT INTO drill (id) VALUES ($i)" >/dev/null 2>&1; then echo "ack $i $(date +%s.%N)"; else echo "err $i $(date +%s.%N)"; fi
done
echo done
EOS
rm -f /tmp/writer.stop /tmp/writer.log
setsid nohup sh /tmp/writer.sh > /tmp/writer.log 2>&1 < /dev/null &`

type writeEvent struct {
	ack bool
	id  int
	at  float64
}

func parseWriter(log string) []writeEvent {
	var out []writeEvent
	for _, l := range strings.Split(log, "\n") {
		f := strings.Fields(l)
		if len(f) != 3 || (f[0] != "ack" && f[0] != "err") {
			continue
		}
		id, _ := strconv.Atoi(f[1])
		at, _ := strconv.ParseFloat(f[2], 64)
		out = append(out, writeEvent{f[0] == "ack", id, at})
	}
	return out
}

// outages are the error runs: from the first error to the next ack.
func outages(ev []writeEvent) []float64 {
	var out []float64
	start := -1.0
	for _, e := range ev {
		if !e.ack && start < 0 {
			start = e.at
		}
		if e.ack && start >= 0 {
			out = append(out, e.at-start)
			start = -1
		}
	}
	return out
}

func stdout(out string) string {
	i := strings.Index(out, "stdout:\n")
	if i < 0 {
		return ""
	}
	rest := out[i+8:]
	for _, end := range []string{"\n  stderr:", "\nPLAY RECAP"} {
		if j := strings.Index(rest, end); j >= 0 {
			rest = rest[:j]
		}
	}
	var lines []string
	for _, l := range strings.Split(rest, "\n") {
		lines = append(lines, strings.TrimPrefix(l, "    "))
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// Kill the primary under a running writer: pgpool fails over by itself.
// Then recover-primary.yaml brings postgres1 back (rewind, attach, and a
// controlled switchover) while the writer still runs. Not one acknowledged
// row may be missing, and the cluster must verify afterwards.
func TestFailoverAndFailbackLoseNoAcknowledgedWrite(t *testing.T) {
	lab := testlab.Hosts(t, 4)
	if code, out := runbook(t, lab, "play", "site.yaml"); code != 0 {
		t.Fatalf("site.yaml: exit %d\n%s", code, out)
	}
	if code, out := runbook(t, lab, "run", "postgres-client", "-m", "shell", "-a", writerScript); code != 0 {
		t.Fatalf("writer: %s", out)
	}
	readLog := func() []writeEvent {
		_, out := runbook(t, lab, "run", "postgres-client", "-m", "command", "-a", "cat /tmp/writer.log")
		return parseWriter(stdout(out))
	}
	waitAcks := func(n int, what string) {
		deadline := time.Now().Add(60 * time.Second)
		for {
			ev := readLog()
			acks := 0
			for _, e := range ev {
				if e.ack {
					acks++
				}
			}
			if acks >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: only %d acknowledged writes", what, acks)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	waitAcks(20, "writer start")
	killedAt := float64(time.Now().UnixNano()) / 1e9
	if code, out := runbook(t, lab, "run", "postgres1", "-m", "shell", "-a", `kill -KILL $(head -1 /var/lib/postgresql/*/main/postmaster.pid)`); code != 0 {
		t.Fatalf("kill: %s", out)
	}
	// writes come back through pgpool on postgres2
	deadline := time.Now().Add(60 * time.Second)
	for {
		ev := readLog()
		if n := len(ev); n > 0 && ev[n-1].ack && ev[n-1].at > killedAt+0.5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("writes never came back after the primary was killed")
		}
		time.Sleep(300 * time.Millisecond)
	}
	code, out := runbook(t, lab, "play", "recover-primary.yaml", "-l", "postgres1")
	if code != 0 {
		t.Fatalf("recover-primary: exit %d\n%s", code, out)
	}
	time.Sleep(2 * time.Second)
	runbook(t, lab, "run", "postgres-client", "-m", "command", "-a", "touch /tmp/writer.stop")
	time.Sleep(2 * time.Second)
	ev := readLog()
	_, out = runbook(t, lab, "run", "postgres-client", "-m", "shell", "-a", `psql -X -h 127.0.0.1 -p 9999 -U postgres -d postgres -qAt -c "SELECT id FROM drill"`)
	present := map[int]bool{}
	for _, l := range strings.Fields(stdout(out)) {
		id, _ := strconv.Atoi(l)
		present[id] = true
	}
	acked, missing, unacked := 0, []int{}, 0
	for _, e := range ev {
		if e.ack {
			acked++
			if !present[e.id] {
				missing = append(missing, e.id)
			}
		} else if present[e.id] {
			unacked++
		}
	}
	sort.Ints(missing)
	o := outages(ev)
	t.Logf("kill + failback: %d writes, %d acknowledged, %d acknowledged missing, %d present but never acknowledged, write outages %v s",
		len(ev), acked, len(missing), unacked, o)
	if len(missing) > 0 {
		t.Errorf("acknowledged rows lost: %v", missing)
	}
	if acked < 50 {
		t.Errorf("too few acknowledged writes to judge (%d)", acked)
	}
	if code, out := runbook(t, lab, "play", "verify.yaml"); code != 0 {
		t.Errorf("verify after recovery: exit %d\n%s", code, out)
	}
	// recover-primary against the live primary is refused, data intact
	code, out = runbook(t, lab, "play", "recover-primary.yaml", "-l", "postgres1")
	if code != 2 || !strings.Contains(out, "refusing: postgres1 is the running primary") {
		t.Errorf("recover-primary on the live primary: exit %d\n%s", code, out)
	}
	_, after := runbook(t, lab, "run", "postgres1", "-m", "shell", "-a", `cd /tmp && runuser -u postgres -- psql -X -qAt -c "SELECT count(*) FROM drill"`)
	if got := stdout(after); got != strconv.Itoa(len(present)) {
		t.Errorf("rows on postgres1 after the refused run: %s, want %d", got, len(present))
	}
}

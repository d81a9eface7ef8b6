package output

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/runner"
)

var update = flag.Bool("update", false, "rewrite the golden files (go test ./output -update)")

// replay sends one fixed run's events to a printer: every kind of result
// (ok, changed with a diff, failed, skipped, unreachable, ignored, a loop
// item, --explain commands, a warning), and the recap.
func replay(o runner.Output) {
	o.Play("configure the primary", []string{"postgres1", "postgres2"})
	o.Task("archive directory", false)
	o.Result(&runner.HostResult{Host: "postgres1", Task: "archive directory", Status: runner.StatusChanged, Duration: 12 * time.Millisecond,
		Diffs: []modules.Diff{{Path: "/etc/x.conf", Before: "a = 1\n", After: "a = 2\n"}}, Data: map[string]any{"changed": true},
		Commands: []string{"mkdir -p /var/lib/postgresql/archive"}})
	o.Result(&runner.HostResult{Host: "postgres2", Task: "archive directory", Status: runner.StatusOK, Duration: 9 * time.Millisecond})
	o.Task("loop", false)
	o.Result(&runner.HostResult{Host: "postgres1", Task: "loop", Status: runner.StatusOK, Item: "a", Msg: "item a"})
	o.Result(&runner.HostResult{Host: "postgres2", Task: "loop", Status: runner.StatusSkipped, Msg: "condition false: x"})
	o.Task("check", false)
	o.Result(&runner.HostResult{Host: "postgres1", Task: "check", Status: runner.StatusFailed, Msg: "non-zero return code 1",
		Data: map[string]any{"rc": 1, "stderr": "boom", "stdout": ""}, Warnings: []string{"postgresql.auto.conf overrides port"}})
	o.Result(&runner.HostResult{Host: "postgres2", Task: "check", Status: runner.StatusIgnored, Msg: "ignored failure"})
	o.Warn("", "NO MORE HOSTS LEFT: every host of this play failed; stopping the run")
	o.Task("restart", true)
	o.Result(&runner.HostResult{Host: "postgres3", Task: "restart", Status: runner.StatusUnreachable, Msg: "postgres3 unreachable: connection refused"})
	o.Recap(&runner.Stats{Order: []string{"postgres1", "postgres2", "postgres3"},
		Hosts:   map[string]*runner.Counts{"postgres1": {OK: 2, Changed: 1, Failed: 1}, "postgres2": {OK: 2, Skipped: 1, Ignored: 1}, "postgres3": {Unreachable: 1}},
		Slowest: []runner.TaskTime{{Task: "archive directory", Duration: 21 * time.Millisecond}, {Task: "check", Duration: 3 * time.Millisecond}},
		Elapsed: 30 * time.Millisecond})
}

// The human and JSON printers' output, byte for byte, against golden files.
func TestGoldenOutput(t *testing.T) {
	for _, c := range []struct {
		name string
		make func(*bytes.Buffer) runner.Output
	}{
		{"human.txt", func(b *bytes.Buffer) runner.Output { return &Human{W: b} }},
		{"human-v.txt", func(b *bytes.Buffer) runner.Output { return &Human{W: b, Verbosity: 2, Diff: true} }},
		{"run.json", func(b *bytes.Buffer) runner.Output { return &JSON{W: b} }},
	} {
		var b bytes.Buffer
		replay(c.make(&b))
		path := filepath.Join("testdata", c.name)
		if *update {
			os.WriteFile(path, b.Bytes(), 0o644)
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test ./output -update writes it)", err)
		}
		if !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%s differs from the golden file (go test ./output -update after checking):\n--- got\n%s\n--- want\n%s", c.name, b.String(), want)
		}
	}
}

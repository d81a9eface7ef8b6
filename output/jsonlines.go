package output

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/runbook-lab/runbook/runner"
)

// JSONLines streams the run as it happens, one JSON object per line, for
// tools that follow a run: {"event": "play"|"task"|"result"|"warning"|
// "recap", "time": RFC 3339 with milliseconds, ...}. Results are the same
// objects --output json holds (secrets masked, no_log data left out).
type JSONLines struct {
	W  io.Writer
	mu sync.Mutex
}

func (j *JSONLines) emit(event string, fields map[string]any) {
	fields["event"] = event
	fields["time"] = time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00")
	j.mu.Lock()
	defer j.mu.Unlock()
	_ = json.NewEncoder(j.W).Encode(fields)
}

// Play starts a play.
func (j *JSONLines) Play(name string, hosts []string) {
	j.emit("play", map[string]any{"name": name, "hosts": hosts})
}

// Task starts a task.
func (j *JSONLines) Task(name string, handler bool) {
	j.emit("task", map[string]any{"name": name, "handler": handler})
}

// Result is one host's result of a task.
func (j *JSONLines) Result(r *runner.HostResult) {
	cp := *r
	if cp.NoLog {
		cp.Data = nil
	}
	j.emit("result", map[string]any{"result": &cp})
}

// Warn is a warning.
func (j *JSONLines) Warn(host, msg string) {
	j.emit("warning", map[string]any{"host": host, "msg": msg})
}

// Recap ends the stream with the counts and the exit code.
func (j *JSONLines) Recap(s *runner.Stats) {
	j.emit("recap", map[string]any{"stats": s, "exit_code": s.ExitCode()})
}

var _ runner.Output = (*JSONLines)(nil)

package output

import (
	"encoding/json"
	"io"
	"sync"

	"github.com/runbook-lab/runbook/runner"
)

// JSON collects the run and prints one JSON document at the recap.
type JSON struct {
	W   io.Writer
	mu  sync.Mutex
	doc jsonDoc
}

type jsonDoc struct {
	Plays    []*jsonPlay   `json:"plays"`
	Warnings []string      `json:"warnings,omitempty"`
	Stats    *runner.Stats `json:"stats"`
	ExitCode int           `json:"exit_code"`
}

type jsonPlay struct {
	Name  string      `json:"name"`
	Hosts []string    `json:"hosts"`
	Tasks []*jsonTask `json:"tasks"`
}

type jsonTask struct {
	Name    string               `json:"name"`
	Handler bool                 `json:"handler,omitempty"`
	Results []*runner.HostResult `json:"results"`
}

// Play starts a play.
func (j *JSON) Play(name string, hosts []string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.doc.Plays = append(j.doc.Plays, &jsonPlay{Name: name, Hosts: hosts, Tasks: []*jsonTask{}})
}

// Task starts a task.
func (j *JSON) Task(name string, handler bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.doc.Plays) == 0 {
		j.doc.Plays = append(j.doc.Plays, &jsonPlay{})
	}
	p := j.doc.Plays[len(j.doc.Plays)-1]
	p.Tasks = append(p.Tasks, &jsonTask{Name: name, Handler: handler, Results: []*runner.HostResult{}})
}

// Result records a result.
func (j *JSON) Result(r *runner.HostResult) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.doc.Plays) == 0 || len(j.doc.Plays[len(j.doc.Plays)-1].Tasks) == 0 {
		j.mu.Unlock()
		j.Task(r.Task, false)
		j.mu.Lock()
	}
	p := j.doc.Plays[len(j.doc.Plays)-1]
	t := p.Tasks[len(p.Tasks)-1]
	cp := *r
	if cp.NoLog {
		cp.Data = nil
	}
	t.Results = append(t.Results, &cp)
}

// Warn records a warning.
func (j *JSON) Warn(host, msg string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if host != "" {
		msg = host + ": " + msg
	}
	j.doc.Warnings = append(j.doc.Warnings, msg)
}

// Recap prints the document.
func (j *JSON) Recap(s *runner.Stats) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.doc.Stats = s
	j.doc.ExitCode = s.ExitCode()
	enc := json.NewEncoder(j.W)
	enc.SetIndent("", "  ")
	_ = enc.Encode(j.doc)
}

var _ runner.Output = (*JSON)(nil)

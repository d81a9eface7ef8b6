package runner

import (
	"time"

	"github.com/runbook-lab/runbook/modules"
)

// Status is a task's outcome on one host.
type Status string

// Outcomes, as Ansible names them.
const (
	StatusOK          Status = "ok"
	StatusChanged     Status = "changed"
	StatusFailed      Status = "failed"
	StatusSkipped     Status = "skipping"
	StatusUnreachable Status = "unreachable"
	StatusIgnored     Status = "ignored"
)

// HostResult is one task's outcome on one host (one loop item).
type HostResult struct {
	Host     string         `json:"host"`
	Delegate string         `json:"delegate_to,omitempty"`
	Task     string         `json:"task"`
	Status   Status         `json:"status"`
	Item     any            `json:"item,omitempty"`
	Msg      string         `json:"msg,omitempty"`
	Diffs    []modules.Diff `json:"diffs,omitempty"`
	Data     map[string]any `json:"data,omitempty"`
	Warnings []string       `json:"warnings,omitempty"`
	// Commands are the shell commands the task sent to the host, as typed
	// (--explain); secrets masked, secret stdin not shown.
	Commands []string      `json:"commands,omitempty"`
	NoLog    bool          `json:"-"`
	Duration time.Duration `json:"duration_ns"`
	Check    bool          `json:"-"`
}

// Counts is a host's line in the recap.
type Counts struct {
	OK          int `json:"ok"`
	Changed     int `json:"changed"`
	Unreachable int `json:"unreachable"`
	Failed      int `json:"failed"`
	Skipped     int `json:"skipped"`
	Rescued     int `json:"rescued"`
	Ignored     int `json:"ignored"`
}

// Stats is the run's recap.
type Stats struct {
	Hosts   map[string]*Counts `json:"hosts"`
	Order   []string           `json:"-"`
	Slowest []TaskTime         `json:"slowest"`
	Plays   []TaskTime         `json:"plays"` // each play's wall time, in order
	Elapsed time.Duration      `json:"elapsed_ns"`
}

// TaskTime is a task's wall time over all hosts.
type TaskTime struct {
	Task     string        `json:"task"`
	Duration time.Duration `json:"duration_ns"`
}

// Output receives the run's events. Implementations print them.
type Output interface {
	Play(name string, hosts []string)
	Task(name string, handler bool)
	Result(r *HostResult)
	Warn(host, msg string)
	Recap(s *Stats)
}

// Progresser is an Output that shows progress of long steps (downloads).
type Progresser interface {
	Progress(host, msg string)
}

// ExitCode maps a recap to the process exit code (Ansible's): 2 if a host
// failed, else 4 if a host was unreachable, else 0.
func (s *Stats) ExitCode() int {
	failed, unreachable := false, false
	for _, c := range s.Hosts {
		failed = failed || c.Failed > 0
		unreachable = unreachable || c.Unreachable > 0
	}
	switch {
	case failed:
		return 2
	case unreachable:
		return 4
	}
	return 0
}

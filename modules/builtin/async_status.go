package builtin

import (
	"context"
	"fmt"
	"maps"

	"github.com/runbook-lab/runbook/modules"
)

// AsyncStatus is Ansible's async_status: the state of a task started with
// async: N and poll: 0, and its result once it has finished (a failed job
// fails this task, as in Ansible).
type AsyncStatus struct {
	Jid  string `yaml:"jid" required:"true" doc:"the job id: the started task's registered ansible_job_id"`
	Mode string `yaml:"mode" default:"status" doc:"status (the job's state and result) or cleanup (forget its result)"`
}

func init() {
	modules.Register(modules.Info{ID: "async_status", Summary: "The state and result of a task started in the background (async: N, poll: 0); jobs last as long as the run",
		Example: "async_status:\n  jid: \"{{ .job.ansible_job_id }}\"\nregister: st\nuntil: st.finished\nretries: 30\ndelay: 2",
		New:     func() modules.Module { return &AsyncStatus{} }})
}

// ControllerOnly: the jobs live in the runner.
func (*AsyncStatus) ControllerOnly() {}

// Validate checks the mode.
func (a *AsyncStatus) Validate() error {
	if a.Mode != "status" && a.Mode != "cleanup" {
		return fmt.Errorf("async_status: mode %q: expected status or cleanup", a.Mode)
	}
	return nil
}

// Run reads the job.
func (a *AsyncStatus) Run(_ context.Context, env *modules.Env) (*modules.Result, error) {
	if env.Jobs == nil {
		return nil, fmt.Errorf("async_status: this runner keeps no background jobs")
	}
	if a.Mode == "cleanup" {
		env.Jobs.Forget(a.Jid)
		return &modules.Result{Msg: "forgot job " + a.Jid, Data: map[string]any{"ansible_job_id": a.Jid, "erased": a.Jid, "started": 0, "finished": 0}}, nil
	}
	res, finished, known := env.Jobs.Job(a.Jid)
	if !known {
		return &modules.Result{Failed: true, Msg: fmt.Sprintf("could not find job %s (jobs last as long as the run that started them)", a.Jid),
			Data: map[string]any{"ansible_job_id": a.Jid, "started": 1, "finished": 1}}, nil
	}
	if !finished {
		return &modules.Result{Msg: "job " + a.Jid + " still runs", Data: map[string]any{"ansible_job_id": a.Jid, "started": 1, "finished": 0}}, nil
	}
	data := maps.Clone(res)
	data["ansible_job_id"], data["started"], data["finished"] = a.Jid, 1, 1
	changed, _ := data["changed"].(bool)
	failed, _ := data["failed"].(bool)
	msg, _ := data["msg"].(string)
	if msg == "" {
		msg = "job " + a.Jid + " finished"
	}
	delete(data, "changed")
	delete(data, "failed")
	// the job's warnings are shown now: a job has no output of its own
	if ws, ok := data["warnings"].([]string); ok && env.Warn != nil {
		for _, w := range ws {
			env.Warn("%s", w)
		}
		delete(data, "warnings")
	}
	return &modules.Result{Changed: changed, Failed: failed, Msg: msg, Data: data}, nil
}

var _ modules.ControllerOnly = (*AsyncStatus)(nil)

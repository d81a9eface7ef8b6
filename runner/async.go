package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/playbooks"
	"github.com/runbook-lab/runbook/templates"
)

// jobs are the run's background tasks (async: N with poll: 0). They run in
// the controller on the host's connection; async_status reads them. A job
// still running when the run ends is stopped (its remote command with it).
type jobs struct {
	mu     sync.Mutex
	seq    int
	byID   map[string]*job
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type job struct {
	host, task string
	done       bool
	noLog      bool // the task's no_log: async_status gives its status, not its output
	result     map[string]any
	warnings   []string // the task's warnings, shown by async_status (a job has no output of its own)
}

func newJobs(ctx context.Context) *jobs {
	j := &jobs{byID: map[string]*job{}}
	j.ctx, j.cancel = context.WithCancel(ctx)
	return j
}

// Job implements modules.Jobs.
func (j *jobs) Job(jid string) (map[string]any, bool, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	b, ok := j.byID[jid]
	if !ok {
		return nil, false, false
	}
	if !b.done {
		return nil, false, true
	}
	if b.noLog {
		out := map[string]any{"censored": "the output has been hidden due to the fact that 'no_log: true' was specified for this result"}
		for _, k := range []string{"changed", "failed", "rc", "skipped", "unreachable"} {
			if v, ok := b.result[k]; ok {
				out[k] = v
			}
		}
		return out, true, true
	}
	out := maps.Clone(b.result)
	if len(b.warnings) > 0 {
		out["warnings"] = slices.Clone(b.warnings)
	}
	return out, true, true
}

// Forget implements modules.Jobs.
func (j *jobs) Forget(jid string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	_, ok := j.byID[jid]
	delete(j.byID, jid)
	return ok
}

// stop ends the run's jobs and names those that had not finished.
func (j *jobs) stop() (unfinished []string) {
	j.mu.Lock()
	for id, b := range j.byID {
		if !b.done {
			unfinished = append(unfinished, fmt.Sprintf("%s (%s on %s)", id, b.task, b.host))
		}
	}
	j.mu.Unlock()
	j.cancel()
	j.wg.Wait()
	return unfinished
}

// asyncLimit is the time a task may run: the smaller of timeout and async,
// with the message Ansible gives for each.
func asyncLimit(t *playbooks.Task) (float64, string) {
	if t.Async > 0 && (t.Timeout <= 0 || t.Async < t.Timeout) {
		return t.Async, fmt.Sprintf("async task did not complete within the requested time - %gs", t.Async)
	}
	return t.Timeout, fmt.Sprintf("the task took longer than its timeout of %gs and was stopped", t.Timeout)
}

// startJob runs a task in the background (async: N, poll: 0) and answers at
// once with the job's id, as Ansible does.
func (r *run) startJob(t *playbooks.Task, sc scope, h *hostState, vars map[string]any) (*HostResult, map[string]any) {
	if skip, data := r.skipped(t, sc, vars); skip != nil {
		return skip, data
	}
	j := r.jobs
	j.mu.Lock()
	j.seq++
	jid := fmt.Sprintf("j%d.%d", j.seq, os.Getpid())
	b := &job{host: h.name, task: t.Name, noLog: sc.noLog}
	j.byID[jid] = b
	j.mu.Unlock()
	limit, msg := asyncLimit(t)
	// as in Ansible, the task's changed_when and failed_when judge what it
	// registers, the launch; the job's own result is async_status's to judge
	bg := *t
	bg.ChangedWhen, bg.FailedWhen = nil, nil
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		ctx, cancel := context.WithTimeout(j.ctx, time.Duration(limit*float64(time.Second)))
		defer cancel()
		res, data := r.one(ctx, &bg, sc, h, vars)
		if j.ctx.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			data = map[string]any{"failed": true, "changed": false, "msg": msg}
		}
		j.mu.Lock()
		b.done, b.result = true, data
		if res != nil {
			b.warnings = res.Warnings
		}
		j.mu.Unlock()
	}()
	launch := &modules.Result{Changed: true, Msg: "started in the background as job " + jid + " (async_status reads it)"}
	data := map[string]any{"ansible_job_id": jid, "started": 1, "finished": 0, "changed": true, "failed": false}
	if out, outData := judge(t, launch, data, vars); out != nil {
		return out, outData
	}
	return &HostResult{Status: statusOf(launch), Msg: launch.Msg}, data
}

// asyncCounts is the task with its templated async and poll rendered for
// this host (`async: "{{ aide_init_async }}"`).
func asyncCounts(t *playbooks.Task, vars map[string]any) (*playbooks.Task, error) {
	tt := *t
	for _, f := range []struct {
		name, expr string
		to         *float64
	}{{"async", t.AsyncExpr, &tt.Async}, {"poll", t.PollExpr, &tt.Poll}} {
		if f.expr == "" {
			continue
		}
		v, err := templates.Render(f.name, f.expr, vars)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%s: expected 0 or more seconds, got %q", f.name, v)
		}
		*f.to = n
	}
	tt.AsyncExpr, tt.PollExpr = "", ""
	return &tt, nil
}

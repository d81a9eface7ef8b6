package runner

import (
	"fmt"
	"maps"

	"github.com/runbook-lab/runbook/internal/truth"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/playbooks"
	"github.com/runbook-lab/runbook/templates"
)

// What a task did on a host: the registered result, its effects on later
// tasks, and its status as changed_when and failed_when judge it.

func failed(format string, args ...any) (*HostResult, map[string]any) {
	msg := fmt.Sprintf(format, args...)
	return &HostResult{Status: StatusFailed, Msg: msg}, map[string]any{"failed": true, "changed": false, "msg": msg}
}

// resultData is what register keeps of a module's result.
func resultData(res *modules.Result) map[string]any {
	data := map[string]any{}
	maps.Copy(data, res.Data)
	data["changed"], data["failed"] = res.Changed, res.Failed
	if res.Msg != "" {
		data["msg"] = res.Msg
	}
	if res.Skipped {
		data["skipped"] = true
	}
	return data
}

// keepEffects records what a module leaves for later tasks: hosts to add
// and facts to set.
func (r *run) keepEffects(h *hostState, res *modules.Result) {
	if len(res.AddHosts) > 0 {
		r.addHostsMu.Lock()
		r.pendingHosts = append(r.pendingHosts, res.AddHosts...)
		r.addHostsMu.Unlock()
	}
	if res.Facts != nil {
		r.factsMu.Lock()
		if af, ok := res.Facts["ansible_facts"].(map[string]any); ok {
			// ansible_facts grows (setup, service_facts, package_facts),
			// it is not replaced
			merged := map[string]any{}
			if old, ok := h.facts["ansible_facts"].(map[string]any); ok {
				maps.Copy(merged, old)
			}
			maps.Copy(merged, af)
			res.Facts = maps.Clone(res.Facts)
			res.Facts["ansible_facts"] = merged
		}
		maps.Copy(h.facts, res.Facts)
		h.version++
		r.factsMu.Unlock()
		r.redact.collect(res.Facts)
	}
}

// judge applies changed_when and failed_when (with the registered result
// visible) to res and data; a non-nil result is a condition that could not
// be evaluated.
func judge(t *playbooks.Task, res *modules.Result, data, vars map[string]any) (*HostResult, map[string]any) {
	if res.Skipped || len(t.ChangedWhen)+len(t.FailedWhen) == 0 {
		return nil, nil
	}
	ev := maps.Clone(vars)
	if t.Register != "" {
		ev[t.Register] = data
	}
	if len(t.ChangedWhen) > 0 {
		v, err := allTrue(t.ChangedWhen, ev)
		if err != nil {
			return failed("changed_when: %v", err)
		}
		res.Changed, data["changed"] = v, v
	}
	if len(t.FailedWhen) > 0 {
		v, err := allTrue(t.FailedWhen, ev)
		if err != nil {
			return failed("failed_when: %v", err)
		}
		res.Failed, data["failed"] = v, v
		if v && res.Msg == "" {
			res.Msg = "failed_when: " + fmt.Sprint(t.FailedWhen)
		}
	}
	return nil, nil
}

func statusOf(res *modules.Result) Status {
	switch {
	case res.Failed:
		return StatusFailed
	case res.Skipped:
		return StatusSkipped
	case res.Changed:
		return StatusChanged
	}
	return StatusOK
}

func unreachable(err error) (*HostResult, map[string]any) {
	return &HostResult{Status: StatusUnreachable, Msg: err.Error()}, map[string]any{"unreachable": true, "failed": true, "msg": err.Error()}
}

// evalFlags renders the scope's templated become, ignore_errors and no_log
// with vars: each is on when its text is true to Ansible's boolean().
func evalFlags(sc scope, vars map[string]any) (scope, error) {
	if sc.becomeExpr != "" {
		v, err := templates.Render("become", sc.becomeExpr, vars)
		if err != nil {
			return sc, fmt.Errorf("become: %w", err)
		}
		b := truthy(v)
		sc.become, sc.becomeExpr = &b, ""
	}
	for _, fe := range sc.flagExprs {
		v, err := templates.Render(fe[0], fe[1], vars)
		if err != nil {
			return sc, fmt.Errorf("%s: %w", fe[0], err)
		}
		on := truthy(v)
		switch fe[0] {
		case "check_mode":
			sc.checkMode = &on
		case "no_log":
			sc.noLog = sc.noLog || on
		default:
			sc.ignoreErrors = sc.ignoreErrors || on
		}
	}
	return sc, nil
}

// truthy is how Ansible reads a keyword's or connection variable's value
// (become, ignore_errors, ansible_become): truth.Keyword.
func truthy(v any) bool { return truth.Keyword(v) }

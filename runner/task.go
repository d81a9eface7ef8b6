package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/runbook-lab/runbook/internal/cond"
	"github.com/runbook-lab/runbook/internal/diag"
	"github.com/runbook-lab/runbook/internal/inputfile"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/playbooks"
	"github.com/runbook-lab/runbook/templates"
	"github.com/runbook-lab/runbook/transport"
)

// outcome is a task's summary on one host.
type outcome struct {
	status   Status
	register map[string]any
	changed  bool
	notify   []string // the handlers to notify, templated names rendered (nil: the task's own)
}

// hostVars composes the variables a task sees on a host. What all hosts
// share (hostvars, groups, play_hosts) comes from the view refreshed
// between tasks; only this host's own layers are merged here.
// AnsibleVersion is what ansible_version says: the Ansible release whose
// language runbook follows (the one its tests compare against).
var AnsibleVersion = map[string]any{"full": "2.14.0", "major": 2, "minor": 14, "revision": 0, "string": "2.14.0"}

// orAll is ansible_run_tags: the tags asked for, or ["all"].
func orAll(tags []string) []string {
	if len(tags) == 0 {
		return []string{"all"}
	}
	return tags
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func (r *run) hostVars(pc *playCtx, h *hostState, sc scope) (map[string]any, error) {
	view := r.view.Load()
	if view == nil {
		r.refresh()
		view = r.view.Load()
	}
	r.factsMu.RLock()
	facts := maps.Clone(h.facts)
	r.factsMu.RUnlock()
	magic := map[string]any{
		"inventory_hostname": h.name, "groups": view.groups, "hostvars": view.hostvars,
		"group_names": view.groupNames(r, h.name), "play_hosts": pc.playHosts, "ansible_play_hosts": pc.playHosts,
		"ansible_check_mode": r.opt.Check, "ansible_diff_mode": r.opt.Diff,
		"runbook_netns": r.opt.Connector.NetNS, "playbook_dir": pc.playbookDir(),
		"ansible_play_name": pc.play.Name, "ansible_managed": "Ansible managed", "role_path": "",
		// the rest of Ansible's magic variables that roles read
		"inventory_hostname_short": strings.SplitN(h.name, ".", 2)[0], "ansible_play_hosts_all": pc.playHosts,
		"ansible_play_batch": pc.playHosts, "ansible_version": AnsibleVersion, "ansible_forks": r.opt.Forks,
		"ansible_run_tags": orAll(r.opt.Tags), "ansible_skip_tags": nonNil(r.opt.SkipTags),
	}
	// Ansible's precedence, lowest first: inventory (group, then host),
	// play vars, block and task vars, facts (set_fact, register), extra vars
	vars, broken := composeVarsLazy(magic, code(sc.defaults), r.inventoryLayer(h.name), code(pc.play.Vars), code(sc.vars), data(facts), code(r.opt.ExtraVars))
	if len(pc.play.LateVarsFiles) > 0 {
		late, err := pc.lateVars(h.name, vars)
		if err != nil {
			return nil, err
		}
		vars, broken = composeVarsLazy(magic, code(sc.defaults), r.inventoryLayer(h.name), code(pc.play.Vars), code(late), code(sc.vars), data(facts), code(r.opt.ExtraVars))
	}
	r.redact.collect(vars) // rendered values: templated secrets, task and block vars
	h.broken = broken
	return vars, nil
}

// hostTask runs a task on one host, records and reports the outcome.
func (r *run) hostTask(ctx context.Context, pc *playCtx, t *playbooks.Task, sc scope, h *hostState) {
	defer func() {
		// A bug in a module fails that host, not the whole run.
		if p := recover(); p != nil {
			r.emit(&HostResult{Host: h.name, Task: t.Name, Status: StatusFailed, Msg: fmt.Sprintf("internal error in module %s: %v", t.Module, p)})
			r.apply(t, h, outcome{status: StatusFailed})
		}
	}()
	stop := r.heartbeat(h.name, t.Name)
	o := r.execute(ctx, pc, t, sc, h, h.name)
	stop()
	o.notify = r.notifyNames(pc, t, sc, h)
	r.apply(t, h, o)
}

// notifyNames renders a task's templated handler names
// (notify: "restart {{ svc }}") with the host's variables; nil when none
// is templated.
func (r *run) notifyNames(pc *playCtx, t *playbooks.Task, sc scope, h *hostState) []string {
	templated := false
	for _, n := range t.Notify {
		templated = templated || templates.Has(n)
	}
	if !templated {
		return nil
	}
	vars, err := r.hostVars(pc, h, sc)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(t.Notify))
	for _, n := range t.Notify {
		if templates.Has(n) {
			if s, err := templates.Render("notify", n, vars); err == nil {
				n = s
			}
		}
		out = append(out, n)
	}
	return out
}

// heartbeat shows, every Options.Heartbeat while a task still runs on a
// host, that it does and for how long: minutes of silence (apt under
// emulation, a base backup, cloud-init) read as a hang otherwise.
func (r *run) heartbeat(host, task string) (stop func()) {
	p, ok := r.opt.Output.(Progresser)
	if !ok || r.opt.Heartbeat <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	begin := time.Now()
	go func() {
		tick := time.NewTicker(r.opt.Heartbeat)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				p.Progress(host, fmt.Sprintf("still running: %s (%s)", task, time.Since(begin).Round(time.Second)))
			}
		}
	}()
	return func() { close(done) }
}

// runOnce runs the task on the first host and gives every host its result.
func (r *run) runOnce(ctx context.Context, pc *playCtx, t *playbooks.Task, sc scope, hs []*hostState) {
	o := r.execute(ctx, pc, t, sc, hs[0], hs[0].name)
	o.notify = r.notifyNames(pc, t, sc, hs[0])
	for _, h := range hs {
		r.apply(t, h, o)
	}
}

// apply records an outcome on a host: register, notify, counts, failure.
func (r *run) apply(t *playbooks.Task, h *hostState, o outcome) {
	r.factsMu.Lock()
	if t.Register != "" && o.register != nil {
		h.facts[t.Register] = o.register
		h.version++
	}
	if o.changed {
		names := t.Notify
		if o.notify != nil {
			names = o.notify
		}
		for _, n := range names {
			h.notified[n] = true
		}
	}
	switch o.status {
	case StatusFailed:
		h.failed = true
		h.lastFailed = map[string]any{"name": t.Name, "action": t.Module, "path": t.At.String()}
		h.lastFailedResult = o.register
	case StatusUnreachable:
		h.unreachable = true
	}
	if action, ok := o.register["meta"].(string); ok && t.Module == "meta" && o.status == StatusOK {
		r.meta(h, action)
	}
	r.factsMu.Unlock()
	r.count(h.name, func(c *Counts) {
		switch o.status {
		case StatusOK:
			c.OK++
		case StatusChanged:
			c.OK++
			c.Changed++
		case StatusFailed:
			c.Failed++
		case StatusSkipped:
			c.Skipped++
		case StatusUnreachable:
			c.Unreachable++
		case StatusIgnored:
			c.OK++
			c.Ignored++
		}
	})
}

// execute evaluates when and loop, runs the module per item, and reports.
func (r *run) execute(ctx context.Context, pc *playCtx, t *playbooks.Task, sc scope, h *hostState, name string) outcome {
	begin := time.Now()
	report := func(res *HostResult) {
		res.Host, res.Task, res.Duration, res.NoLog = name, t.Name, time.Since(begin), res.NoLog || sc.noLog
		r.emit(res)
	}
	fail := func(err error) outcome {
		err = h.broken.explain(err)
		report(&HostResult{Status: StatusFailed, Msg: fmt.Sprintf("%s (task at %s): %v", t.Name, t.At, err)})
		return outcome{status: StatusFailed, register: map[string]any{"failed": true, "msg": err.Error()}}
	}
	vars, err := r.hostVars(pc, h, sc)
	if err != nil {
		return fail(err)
	}
	if t.RoleDir != "" {
		vars["role_path"] = t.RoleDir // Ansible's, for lookup('file') from a role
	}
	items, looped, err := loopItems(t, vars)
	if err != nil {
		return fail(fmt.Errorf("loop: %w", err))
	}
	// ignore_errors and no_log templates are read per item when they name
	// the loop's variable (Ansible templates them per item too)
	flagged, flagErr := evalFlags(sc, vars)
	perItem := flagErr != nil && looped
	if flagErr != nil && !looped {
		return fail(flagErr)
	}
	if !perItem {
		sc = flagged
	}
	loopVar := t.LoopVar
	if loopVar == "" {
		loopVar = "item"
	}
	if !looped {
		items = []any{nil}
	}
	var results []any
	agg := outcome{status: StatusSkipped}
	for i, item := range items {
		if i > 0 && t.LoopPause > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(t.LoopPause * float64(time.Second))):
			}
		}
		iv := vars
		if looped {
			iv = maps.Clone(vars)
			iv[loopVar] = item
			iv["ansible_loop"] = map[string]any{"index": i + 1, "index0": i, "first": i == 0, "last": i == len(items)-1,
				"length": len(items), "revindex": len(items) - i, "revindex0": len(items) - i - 1}
			if t.IndexVar != "" {
				iv[t.IndexVar] = i
			}
		}
		isc := sc
		if perItem {
			if isc, err = evalFlags(sc, iv); err != nil {
				res := &HostResult{Status: StatusFailed, Msg: fmt.Sprintf("%s (task at %s): %v", t.Name, t.At, err), Item: item, NoLog: true}
				report(res)
				results = append(results, map[string]any{"failed": true, "msg": err.Error()})
				agg.status = worse(agg.status, StatusFailed)
				continue
			}
		}
		res, data := r.oneWithTimeout(ctx, t, isc, h, iv)
		res.NoLog = res.NoLog || isc.noLog
		if looped {
			res.Item = item
			if t.LoopLabel != "" {
				if label, err := templates.Render("label", t.LoopLabel, iv); err == nil {
					res.Item = label
				}
			}
			data[loopVar] = item
		}
		report(res)
		results = append(results, data)
		agg.changed = agg.changed || res.Status == StatusChanged
		agg.status = worse(agg.status, res.Status)
		agg.register = data
		// As Ansible: a failed item does not stop the others; an
		// unreachable host (or a cancelled run) does.
		if res.Status == StatusUnreachable || ctx.Err() != nil {
			break
		}
	}
	if looped {
		agg.register = map[string]any{"results": results, "changed": agg.changed, "failed": agg.status == StatusFailed,
			"skipped": agg.status == StatusSkipped}
	}
	if looped && len(items) == 0 {
		report(&HostResult{Status: StatusSkipped, Msg: "no items"})
	}
	return agg
}

// worse orders statuses so a loop reports its worst item.
func worse(a, b Status) Status {
	rank := map[Status]int{StatusSkipped: 0, StatusOK: 1, StatusChanged: 2, StatusIgnored: 3, StatusFailed: 4, StatusUnreachable: 5}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// oneWithTimeout is one under the task's timeout keyword: a task still
// running after it is stopped (its remote command killed) and fails.
// async: N with poll: 0 starts it in the background instead.
func (r *run) oneWithTimeout(ctx context.Context, t *playbooks.Task, sc scope, h *hostState, vars map[string]any) (*HostResult, map[string]any) {
	if t.AsyncExpr != "" || t.PollExpr != "" {
		tt, err := asyncCounts(t, vars)
		if err != nil {
			return failed("%v", err)
		}
		t = tt
	}
	if t.Async > 0 && t.PollSet && t.Poll == 0 {
		return r.startJob(t, sc, h, vars)
	}
	limit, msg := asyncLimit(t)
	if limit <= 0 {
		return r.one(ctx, t, sc, h, vars)
	}
	tctx, cancel := context.WithTimeout(ctx, time.Duration(limit*float64(time.Second)))
	defer cancel()
	res, data := r.one(tctx, t, sc, h, vars)
	if ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded) {
		if res.Status == StatusIgnored || sc.ignoreErrors {
			return &HostResult{Status: StatusIgnored, Msg: msg}, map[string]any{"failed": true, "changed": false, "msg": msg}
		}
		return &HostResult{Status: StatusFailed, Msg: msg}, map[string]any{"failed": true, "changed": false, "msg": msg}
	}
	return res, data
}

// skipped is the result of a task whose when is false (or cannot be
// evaluated) on this host; nil when it runs.
func (r *run) skipped(t *playbooks.Task, sc scope, vars map[string]any) (*HostResult, map[string]any) {
	for _, c := range sc.when {
		ok, err := cond.Eval(c, vars)
		if err != nil {
			return &HostResult{Status: StatusFailed, Msg: fmt.Sprintf("when %q (task at %s): %v", c, t.At, err)}, map[string]any{"failed": true}
		}
		if !ok {
			return &HostResult{Status: StatusSkipped, Msg: "condition false: " + c}, map[string]any{"skipped": true, "changed": false}
		}
	}
	for _, inc := range sc.includeIfs {
		name, err := templates.Render("include_tasks", inc.Template, vars)
		if err != nil {
			return &HostResult{Status: StatusFailed, Msg: fmt.Sprintf("include_tasks %q (task at %s): %v", inc.Template, t.At, err)}, map[string]any{"failed": true}
		}
		name = path.Clean(strings.TrimPrefix(name, "./"))
		if inc.TrimExt {
			name = strings.TrimSuffix(strings.TrimSuffix(name, ".yml"), ".yaml")
		}
		runs := name == inc.File
		if inc.Others != nil {
			runs = !slices.Contains(inc.Others, name)
		}
		if !runs {
			return &HostResult{Status: StatusSkipped, Msg: "this host includes " + name}, map[string]any{"skipped": true, "changed": false}
		}
	}
	return nil, nil
}

// untilCounts are the task's retries and delay, rendered for this host
// when they are templates (`retries: "{{ app_retries }}"`).
func untilCounts(t *playbooks.Task, vars map[string]any) (int, float64, error) {
	retries, delay := t.Retries, t.Delay
	if t.RetriesExpr != "" {
		v, err := templates.Render("retries", t.RetriesExpr, vars)
		if err != nil {
			return 0, 0, fmt.Errorf("retries: %w", err)
		}
		if retries, err = strconv.Atoi(strings.TrimSpace(v)); err != nil || retries < 0 {
			return 0, 0, fmt.Errorf("retries: expected a whole number of 0 or more, got %q", v)
		}
	}
	if t.DelayExpr != "" {
		v, err := templates.Render("delay", t.DelayExpr, vars)
		if err != nil {
			return 0, 0, fmt.Errorf("delay: %w", err)
		}
		if delay, err = strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil || delay < 0 {
			return 0, 0, fmt.Errorf("delay: expected 0 or more seconds, got %q", v)
		}
	}
	return retries, delay, nil
}

// one runs the module once (with until/retries) for one item.
func (r *run) one(ctx context.Context, t *playbooks.Task, sc scope, h *hostState, vars map[string]any) (*HostResult, map[string]any) {
	if skip, data := r.skipped(t, sc, vars); skip != nil {
		return skip, data
	}
	retries, delaySecs, err := untilCounts(t, vars)
	if err != nil {
		return &HostResult{Status: StatusFailed, Msg: fmt.Sprintf("%s (task at %s): %v", t.Name, t.At, err)}, map[string]any{"failed": true, "msg": err.Error()}
	}
	attempts := 1 // Ansible's count: 3 retries unless told; retries: 0 is one attempt
	switch {
	case len(t.Until) == 0:
	case !t.RetriesSet:
		attempts = 4
	case retries > 0:
		attempts = retries + 1
	}
	delay := time.Duration(delaySecs * float64(time.Second))
	if len(t.Until) > 0 && !t.DelaySet {
		delay = 5 * time.Second // Ansible's default
	}
	var res *HostResult
	var data map[string]any
	for a := 1; a <= attempts; a++ {
		res, data = r.attempt(ctx, t, sc, h, vars)
		if len(t.Until) == 0 || res.Status == StatusUnreachable {
			break
		}
		uv := maps.Clone(vars)
		if t.Register != "" {
			uv[t.Register] = data
		}
		done, err := allTrue(t.Until, uv)
		if err != nil {
			return &HostResult{Status: StatusFailed, Msg: fmt.Sprintf("until: %v", err)}, data
		}
		data["attempts"] = a
		if done {
			break
		}
		if a == attempts {
			res.Status, res.Msg = StatusFailed, fmt.Sprintf("still not true after %d attempts: %v (last: %s)", attempts, t.Until, res.Msg)
			data["failed"] = true
			break
		}
		select {
		case <-ctx.Done():
			return &HostResult{Status: StatusFailed, Msg: "interrupted"}, data
		case <-time.After(delay):
		}
	}
	if res.Status == StatusFailed && sc.ignoreErrors {
		res.Status = StatusIgnored
	}
	return res, data
}

func allTrue(conds []string, vars map[string]any) (bool, error) {
	for _, c := range conds {
		ok, err := cond.Eval(c, vars)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// attempt runs one try of a task on a host: build the module, reach the
// host (or its delegate) as the right user, run, record what the module
// left behind, and judge the result with changed_when / failed_when.
func (r *run) attempt(ctx context.Context, t *playbooks.Task, sc scope, h *hostState, vars map[string]any) (*HostResult, map[string]any) {
	m, _, err := buildModule(r.opt.Registry, t, vars)
	if err != nil {
		return failed("%s (task at %s): %v", t.Name, t.At, h.broken.explain(err))
	}
	// a secret-named argument (password, proxy_password...) is masked in
	// all output, diffs included; a no_log task's file contents too
	r.redact.collectArgs(t.Args, vars, sc.noLog)
	check := r.opt.Check
	if sc.checkMode != nil {
		check = *sc.checkMode
	}
	env := &modules.Env{Check: check, Diff: r.opt.Diff, Vars: vars, Dirs: taskDirs(t), Jobs: r.jobs}
	env.HostFor = func(ctx context.Context, name string) (modules.Host, error) {
		if _, ok := r.opt.Inventory.Host(name); !ok {
			return nil, fmt.Errorf("%s is not a host of the inventory", name)
		}
		return r.opt.Connector.Connect(ctx, name, r.opt.Inventory.HostVars(name))
	}
	var warnings []string
	env.Warn = func(format string, args ...any) { warnings = append(warnings, fmt.Sprintf(format, args...)) }
	if p, ok := r.opt.Output.(Progresser); ok && !sc.noLog {
		env.Progress = func(msg string) { p.Progress(h.name, msg) }
	}
	var explain *explainHost
	delegate := ""
	if _, local := m.(modules.ControllerOnly); !local {
		var conn transport.Conn
		var early *HostResult
		var earlyData map[string]any
		conn, delegate, early, earlyData = r.reach(ctx, m, sc, h.name, vars, check)
		if early != nil {
			return early, earlyData
		}
		var as string
		env.Host, as = r.asUser(conn, sc, vars)
		if len(sc.env) > 0 || len(sc.envExprs) > 0 {
			vals, err := renderEnv(sc.env, sc.envExprs, vars)
			if err != nil {
				return failed("environment: %v", err)
			}
			env.Host = withEnv(env.Host, vals)
		}
		target := modules.Or(delegate, h.name)
		env.Reconnect = func(ctx context.Context, timeout time.Duration) (modules.Host, error) {
			tvars := vars
			if delegate != "" {
				tvars = r.opt.Inventory.HostVars(delegate)
			}
			r.opt.Connector.Drop(target)
			c, err := r.opt.Connector.ConnectWait(ctx, target, tvars, timeout)
			if err != nil {
				return nil, err
			}
			host, _ := r.asUser(c, sc, vars)
			return host, nil
		}
		if r.opt.Explain {
			explain = &explainHost{Host: env.Host, as: as}
			env.Host = explain
		}
	}
	res, err := m.Run(ctx, env)
	if err == nil {
		res, err = modules.Carry(ctx, res, check, t.Module)
	}
	if err != nil {
		var ue *transport.UnreachableError
		if errors.As(err, &ue) {
			return unreachable(err)
		}
		// a module error is a failed result: failed_when and
		// ignore_errors still apply, as in Ansible
		res = &modules.Result{Failed: true, Msg: err.Error()}
	}
	data := resultData(res)
	factsHost := h
	if t.DelegateFacts && sc.delegateTo != "" && res.Facts != nil {
		// delegate_facts: the facts belong to the host delegated to
		d, err := templates.Render("delegate_to", sc.delegateTo, vars)
		if err != nil {
			return failed("delegate_to: %v", err)
		}
		if factsHost = r.factsHolder(d); factsHost == nil {
			return failed("delegate_facts: %s is not a host of the inventory", d)
		}
	}
	r.keepEffects(factsHost, res)
	if out, outData := judge(t, res, data, vars); out != nil {
		return out, outData
	}
	out := &HostResult{Msg: res.Msg, Data: data, Warnings: warnings, Delegate: delegate, Check: r.opt.Check, Status: statusOf(res)}
	if r.opt.Diff {
		out.Diffs = res.Diffs // a module may fill them anyway; shown only under --diff
	}
	if explain != nil {
		out.Commands = explain.commands()
	}
	return out, data
}

// emit masks secrets and hands a result to the output.
func (r *run) emit(res *HostResult) {
	res.Msg = r.redact.text(res.Msg)
	for i, w := range res.Warnings {
		res.Warnings[i] = r.redact.text(w)
	}
	for i, c := range res.Commands {
		res.Commands[i] = r.redact.text(c)
	}
	if res.NoLog {
		if res.Item != nil {
			res.Item = "(hidden: no_log)"
		}
		if res.Status != StatusFailed {
			res.Msg = ""
		} else {
			res.Msg = "the output has been hidden (no_log: true)"
		}
		res.Data, res.Diffs = nil, nil
	} else {
		if res.Data != nil {
			res.Data = r.redact.value(res.Data).(map[string]any)
		}
		if res.Item != nil {
			res.Item = r.redact.value(res.Item)
		}
	}
	for i, d := range res.Diffs {
		res.Diffs[i].Before, res.Diffs[i].After = r.redact.text(d.Before), r.redact.text(d.After)
	}
	r.opt.Output.Result(res)
}

// warn masks secrets in a run-level warning and prints it.
func (r *run) warn(msg string) { r.opt.Output.Warn("", r.redact.text(msg)) }

// taskDirs are the folders a task's relative local files are found in:
// its role's, then the folder of the file it is written in.
func taskDirs(t *playbooks.Task) []string {
	var dirs []string
	if t.RoleDir != "" {
		dirs = append(dirs, t.RoleDir)
	}
	if t.At.Src != nil {
		dirs = append(dirs, filepath.Dir(t.At.Src.Name))
	}
	return dirs
}

// meta carries out a meta task's action on one host (under factsMu); the
// play-wide ones are flags the task loop acts on once every host has run
// the task.
func (r *run) meta(h *hostState, action string) {
	switch action {
	case "end_host":
		h.ended = true
	case "end_play", "end_batch":
		h.endPlay = true
	case "flush_handlers":
		h.flush = true
	case "clear_facts":
		h.facts = map[string]any{}
		h.version++
	case "clear_host_errors":
		h.failed = false
	case "reset_connection":
		// the next task logs in anew (new groups, login environment and
		// shell), as in Ansible
		if r.opt.Connector != nil {
			r.opt.Connector.Drop(h.name)
		}
	}
}

// lateVars reads a play's templated vars_files for one host, once.
func (pc *playCtx) lateVars(host string, vars map[string]any) (map[string]any, error) {
	pc.lateMu.Lock()
	defer pc.lateMu.Unlock()
	if v, ok := pc.late[host]; ok {
		return v, nil
	}
	out := map[string]any{}
	for _, lf := range pc.play.LateVarsFiles {
		var tried []string
		found := false
		for _, name := range lf.Names {
			p, err := templates.Render("vars_files", name, vars)
			if err != nil {
				tried = append(tried, name+" ("+err.Error()+")")
				continue
			}
			if !filepath.IsAbs(p) {
				p = filepath.Join(lf.Dir, p)
			}
			b, err := inputfile.Read(p)
			if err != nil {
				tried = append(tried, p)
				continue
			}
			vs, err := playbooks.LoadVarsFile(&diag.Source{Name: p, Text: b})
			if err != nil {
				return nil, err
			}
			maps.Copy(out, vs)
			found = true
			break
		}
		if !found {
			return nil, lf.At.Errorf("vars_files: none of %s could be read", strings.Join(tried, ", "))
		}
	}
	if pc.late == nil {
		pc.late = map[string]map[string]any{}
	}
	pc.late[host] = out
	return out, nil
}

// shorten cuts a value for a message: it may be a host's output of any size.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

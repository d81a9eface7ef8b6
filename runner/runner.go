package runner

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/sync/errgroup"

	"github.com/runbook-lab/runbook/inventory"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/playbooks"
	"github.com/runbook-lab/runbook/templates"
)

// Options configure a run.
type Options struct {
	Registry            *modules.Registry
	Inventory           *inventory.Inventory
	Limit               string
	ExtraVars           map[string]any
	Check, Diff         bool
	Forks               int
	Tags, SkipTags      []string
	StartAt             string
	NoHandlersOnFailure bool
	BecomePassword      []byte
	Output              Output
	Connector           *Connector
	// StrictHosts fails a play that selects no host (the embedded lab
	// playbooks: a verify that skips every play must not read as a pass);
	// under --check, after an add_host play, such a play is reported as
	// waiting for hosts the run would create.
	StrictHosts bool
	// Explain records the commands each task sends to each host and shows
	// them with its result (--explain).
	Explain bool
	// Heartbeat is how often a task still running on a host says so (0:
	// never).
	Heartbeat time.Duration
	// VaultSecrets gives the values opened from Ansible Vault so far: they
	// are masked in all output like secret-named variables.
	VaultSecrets func() []string
	// Become is -b: become for every task unless a play, block or task
	// says otherwise.
	Become bool
	// SlowestShown is how many of the slowest tasks the recap lists (0: 3).
	SlowestShown int
}

// hostState is one host's state across the run.
type hostState struct {
	name        string
	facts       map[string]any // gathered facts, set_fact, register
	failed      bool
	unreachable bool
	notified    map[string]bool
	ended       bool // meta end_host: done with this play
	endPlay     bool // meta end_play: ask the play to end
	flush       bool // meta flush_handlers: run notified handlers now
	// lastFailed is the task that failed last and its result, for a
	// rescue's ansible_failed_task and ansible_failed_result
	lastFailed, lastFailedResult map[string]any
	version                      int        // bumped when facts change (the shared view re-merges the host)
	broken                       brokenVars // variables of the current task that could not be rendered
}

type run struct {
	opt       Options
	hosts     map[string]*hostState
	stats     *Stats
	statsMu   sync.Mutex
	factsMu   sync.RWMutex
	redact    *redactor
	started   bool // --start-at-task reached
	taskTimes map[string]time.Duration
	taskOrder []string

	addHostsMu   sync.Mutex
	pendingHosts []modules.NewHost          // add_host results, applied between tasks
	addedVars    map[string]map[string]bool // host -> names add_host set: data, not templates

	invVars   invVarsCache
	invGen    int                    // bumped by add_host
	view      atomic.Pointer[shared] // hostvars and groups, refreshed between tasks
	viewMu    sync.Mutex             // guards view.groupsOf
	refreshMu sync.Mutex             // one refresh at a time (strategy free refreshes per host)
	jobs      *jobs                  // async: N, poll: 0
}

// addPendingHosts puts add_host's hosts into the inventory. It runs between
// tasks, when no host reads the inventory.
func (r *run) addPendingHosts() {
	r.addHostsMu.Lock()
	defer r.addHostsMu.Unlock()
	if len(r.pendingHosts) > 0 {
		r.invGen++
		r.invVars.reset()
	}
	for _, h := range r.pendingHosts {
		r.redact.collect(h.Vars)
		r.opt.Inventory.AddHost(h.Name, "", h.Vars)
		if r.addedVars == nil {
			r.addedVars = map[string]map[string]bool{}
		}
		if r.addedVars[h.Name] == nil {
			r.addedVars[h.Name] = map[string]bool{}
		}
		for k := range h.Vars {
			r.addedVars[h.Name][k] = true
		}
		for _, g := range h.Groups {
			r.opt.Inventory.AddHost(h.Name, g, nil)
		}
	}
	r.pendingHosts = nil
}

// Run executes a playbook and returns its recap. The error is for problems
// that stop the whole run (bad limit pattern); host failures are in Stats.
func Run(ctx context.Context, pb *playbooks.Playbook, opt Options) (*Stats, error) {
	if opt.Forks <= 0 {
		opt.Forks = 10
	}
	if opt.Connector == nil {
		opt.Connector = &Connector{}
	}
	inv := opt.Inventory
	if opt.Connector.HostVars == nil {
		opt.Connector.HostVars = func(name string) (map[string]any, bool) {
			if _, ok := inv.Host(name); !ok {
				return nil, false
			}
			return inv.HostVars(name), true
		}
	}
	if err := preflight(pb, opt); err != nil {
		return nil, err
	}
	r := &run{opt: opt, hosts: map[string]*hostState{}, stats: &Stats{Hosts: map[string]*Counts{}},
		redact: &redactor{vaulted: opt.VaultSecrets}, started: opt.StartAt == "", taskTimes: map[string]time.Duration{}}
	r.redact.add(string(opt.BecomePassword))
	r.redact.add(string(opt.Connector.Password))
	r.redact.collect(opt.ExtraVars)
	for _, h := range inv.Hosts() {
		hv := inv.HostVars(h)
		r.redact.collect(hv)
		r.redact.add(hv["ansible_become_password"])
	}
	plan, err := NewPlan(pb, inv, Selection{Limit: opt.Limit, ExtraVars: opt.ExtraVars})
	if err != nil {
		return nil, err
	}
	if err := checkConnections(plan, inv); err != nil {
		return nil, err
	}
	begin := time.Now()
	defer opt.Connector.Close()
	defer modules.End() // e.g. a drill that fails must not leave its probe writing
	r.jobs = newJobs(ctx)
	defer func() {
		for _, j := range r.jobs.stop() {
			r.warn("background job " + j + " had not finished when the run ended: stopped")
		}
	}()
	growing := r.addsHosts(pb)
plays:
	for _, pp := range plan.Plays {
		if growing {
			plan.Reselect(pp, inv)
		}
		p, pattern, selected := pp.Play, pp.Pattern, pp.Hosts
		r.redact.collect(p.Vars)
		if pp.RenderErr != nil {
			r.warn(fmt.Sprintf("play %q (%s): hosts: %v; skipping the play", p.Name, p.At, pp.RenderErr))
			continue
		}
		if pp.Err != nil && !opt.StrictHosts {
			r.warn(fmt.Sprintf("play %q (%s): %v; skipping the play", p.Name, p.At, pp.Err))
			continue
		}
		if len(pp.Matched) == 0 && opt.StrictHosts {
			if opt.Check && growing {
				r.warn(fmt.Sprintf("play %q (%s): hosts %s would run once the VMs exist (this run creates them)", p.Name, p.At, pattern))
				continue
			}
			why := "no host of the inventory matches it"
			if pp.Err != nil {
				why = pp.Err.Error()
			}
			return r.stats, fmt.Errorf("play %q (%s): hosts %q: %s: build the lab first (runbook play site.yaml) or give -i INVENTORY", p.Name, p.At, pattern, why)
		}
		opt.Output.Play(p.Name, selected)
		if len(selected) == 0 {
			r.warn("no hosts matched, skipping")
			continue
		}
		playBegin := time.Now()
		serial := p.Serial
		if p.SerialPct > 0 {
			serial = max(1, len(selected)*p.SerialPct/100) // Ansible rounds down, at least one
		}
		for _, batch := range batches(selected, serial) {
			if ctx.Err() != nil {
				break
			}
			r.play(ctx, p, batch)
			// As Ansible: when every host of a play failed, the run stops
			// (later plays build on this one).
			if len(active(r.states(batch))) == 0 {
				r.warn("NO MORE HOSTS LEFT: every host of this play failed; stopping the run")
				r.stats.Plays = append(r.stats.Plays, TaskTime{Task: p.Name, Duration: time.Since(playBegin)})
				break plays
			}
		}
		r.stats.Plays = append(r.stats.Plays, TaskTime{Task: p.Name, Duration: time.Since(playBegin)})
	}
	r.stats.Elapsed = time.Since(begin)
	r.stats.Slowest = r.slowest(cmp.Or(opt.SlowestShown, 3))
	sort.Strings(r.stats.Order)
	opt.Output.Recap(r.stats)
	return r.stats, ctx.Err()
}

// PlayHosts renders a templated hosts pattern (hosts: "{{ .target }}") with
// the play's own plain variables and the extra vars, as Ansible does.
func PlayHosts(p *playbooks.Play, extra map[string]any) (string, error) {
	if !templates.Has(p.Hosts) {
		return p.Hosts, nil
	}
	vars := map[string]any{}
	for k, v := range p.Vars {
		if s, ok := v.(string); !ok || !templates.Has(s) {
			vars[k] = v
		}
	}
	maps.Copy(vars, extra)
	return templates.Render("hosts", p.Hosts, vars)
}

// addsHosts reports whether the playbook has an add_host task.
func (r *run) addsHosts(pb *playbooks.Playbook) bool {
	found := false
	walkTasks(pb, func(t *playbooks.Task) { found = found || t.Module == "add_host" || t.Module == "group_by" })
	return found
}

func batches(hosts []string, serial int) [][]string {
	if serial <= 0 || serial >= len(hosts) {
		return [][]string{hosts}
	}
	var out [][]string
	for i := 0; i < len(hosts); i += serial {
		out = append(out, hosts[i:min(i+serial, len(hosts))])
	}
	return out
}

func (r *run) states(names []string) []*hostState {
	out := make([]*hostState, len(names))
	for i, n := range names {
		out[i] = r.host(n)
	}
	return out
}

// factsHolder is the state that keeps an inventory host's facts, made
// for a host no play has run on yet (delegate_facts to it); nil for a
// name the inventory does not have. Tasks run in parallel: the facts lock
// guards the map here.
func (r *run) factsHolder(name string) *hostState {
	if _, ok := r.opt.Inventory.Host(name); !ok {
		return nil
	}
	r.factsMu.Lock()
	defer r.factsMu.Unlock()
	h, ok := r.hosts[name]
	if !ok {
		h = &hostState{name: name, facts: map[string]any{}, notified: map[string]bool{}}
		r.hosts[name] = h
	}
	return h
}

func (r *run) host(name string) *hostState {
	h, ok := r.hosts[name]
	if !ok {
		h = &hostState{name: name, facts: map[string]any{}, notified: map[string]bool{}}
		r.hosts[name] = h
	}
	r.statsMu.Lock()
	if r.stats.Hosts[name] == nil { // a host that so far only received delegated facts has none
		r.stats.Hosts[name] = &Counts{}
		r.stats.Order = append(r.stats.Order, name)
	}
	r.statsMu.Unlock()
	return h
}

// playCtx is what tasks of one play share.
// playbookDir is the folder of the file the play is written in
// (Ansible's playbook_dir).
func (pc *playCtx) playbookDir() string {
	if pc.play.At.Src == nil {
		return "."
	}
	d, err := filepath.Abs(filepath.Dir(pc.play.At.Src.Name))
	if err != nil {
		return filepath.Dir(pc.play.At.Src.Name)
	}
	return d
}

type playCtx struct {
	lateMu    sync.Mutex
	late      map[string]map[string]any // templated vars_files, per host
	free      bool                      // strategy: free (hosts run their tasks independently)
	play      *playbooks.Play
	hosts     []*hostState
	playHosts []any // play_hosts, built once
}

// scope is what a block passes down to its tasks (Ansible's inheritance).
type scope struct {
	defaults     map[string]any    // role defaults: beneath the inventory
	env          map[string]string // environment: for every command
	envExprs     []string          // templated environment: mappings, rendered per host
	remoteUser   string
	connection   string
	when         []string
	tags         []string
	vars         map[string]any
	become       *bool
	becomeExpr   string // a templated become, rendered for each host
	becomeUser   string
	ignoreErrors bool
	noLog        bool
	flagExprs    [][2]string // templated ignore_errors / no_log: {which, template}
	delegateTo   string
	checkMode    *bool
	includeIfs   []*playbooks.IncludeIf // templated include_tasks: this host's file only
}

func (s scope) child(t *playbooks.Task) scope {
	c := s
	c.when = append(append([]string(nil), s.when...), t.When...)
	if t.IncludeIf != nil {
		c.includeIfs = append(append([]*playbooks.IncludeIf(nil), s.includeIfs...), t.IncludeIf)
	}
	c.tags = append(append([]string(nil), s.tags...), t.Tags...)
	if len(t.Vars) > 0 {
		c.vars = maps.Clone(s.vars)
		if c.vars == nil {
			c.vars = map[string]any{}
		}
		maps.Copy(c.vars, t.Vars)
	}
	if len(t.RoleDefaults) > 0 {
		c.defaults = maps.Clone(s.defaults)
		if c.defaults == nil {
			c.defaults = map[string]any{}
		}
		maps.Copy(c.defaults, t.RoleDefaults)
	}
	if len(t.Environment) > 0 {
		c.env = maps.Clone(s.env)
		if c.env == nil {
			c.env = map[string]string{}
		}
		maps.Copy(c.env, t.Environment)
	}
	if t.EnvironmentExpr != "" {
		c.envExprs = append(append([]string(nil), s.envExprs...), t.EnvironmentExpr)
	}
	if t.RemoteUser != "" {
		c.remoteUser = t.RemoteUser
	}
	if t.Connection != "" {
		c.connection = t.Connection
	}
	if t.Become != nil {
		c.become, c.becomeExpr = t.Become, ""
	}
	if t.BecomeExpr != "" {
		c.become, c.becomeExpr = nil, t.BecomeExpr
	}
	if t.BecomeUser != "" {
		c.becomeUser = t.BecomeUser
	}
	c.ignoreErrors = s.ignoreErrors || t.IgnoreErrors
	c.noLog = s.noLog || t.NoLog
	if t.IgnoreErrorsExpr != "" || t.NoLogExpr != "" || t.CheckModeExpr != "" {
		c.flagExprs = append([][2]string(nil), s.flagExprs...)
		if t.CheckModeExpr != "" {
			c.flagExprs = append(c.flagExprs, [2]string{"check_mode", t.CheckModeExpr})
		}
		if t.IgnoreErrorsExpr != "" {
			c.flagExprs = append(c.flagExprs, [2]string{"ignore_errors", t.IgnoreErrorsExpr})
		}
		if t.NoLogExpr != "" {
			c.flagExprs = append(c.flagExprs, [2]string{"no_log", t.NoLogExpr})
		}
	}
	if t.DelegateTo != "" {
		c.delegateTo = t.DelegateTo
	}
	if t.CheckMode != nil {
		c.checkMode = t.CheckMode
	}
	return c
}

func (r *run) play(ctx context.Context, p *playbooks.Play, names []string) {
	pc := &playCtx{play: p}
	for _, n := range names {
		h := r.host(n)
		h.notified = map[string]bool{}
		h.ended, h.endPlay, h.flush = false, false, false
		pc.hosts = append(pc.hosts, h)
		pc.playHosts = append(pc.playHosts, n)
	}
	root := scope{tags: p.Tags, become: p.Become, becomeExpr: p.BecomeExpr, becomeUser: p.BecomeUser, env: p.Environment, remoteUser: p.RemoteUser,
		envExprs:   nonEmpty(p.EnvironmentExpr),
		connection: p.Connection, ignoreErrors: p.IgnoreErrors, noLog: p.NoLog, checkMode: p.CheckMode}
	var gather []*playbooks.Task
	if p.GatherFacts == nil || *p.GatherFacts {
		gather = []*playbooks.Task{{Name: "Gathering Facts", Module: "facts", At: p.At, Tags: []string{"always"},
			Args: &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	if p.Strategy == "free" {
		// each host runs its own tasks as fast as it can (forks at once);
		// add_host results join the inventory when all are done
		pc.free = true
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(r.opt.Forks)
		for _, h := range pc.hosts {
			one := []*hostState{h}
			g.Go(func() error {
				r.tasks(gctx, pc, gather, root, one, false)
				r.tasks(gctx, pc, p.Tasks, root, one, false)
				return nil
			})
		}
		_ = g.Wait()
		r.addPendingHosts()
		r.handlers(ctx, pc)
		return
	}
	r.tasks(ctx, pc, gather, root, pc.hosts, false)
	r.tasks(ctx, pc, p.Tasks, root, pc.hosts, false)
	r.handlers(ctx, pc)
}

// active are the hosts still in the play.
func active(hosts []*hostState) []*hostState {
	var out []*hostState
	for _, h := range hosts {
		if !h.failed && !h.unreachable && !h.ended {
			out = append(out, h)
		}
	}
	return out
}

// tasks runs a list of tasks with the linear strategy: each task on every
// active host (up to --forks at once), then the next.
func (r *run) tasks(ctx context.Context, pc *playCtx, tasks []*playbooks.Task, sc scope, hosts []*hostState, handler bool) {
	for _, t := range tasks {
		if ctx.Err() != nil {
			return
		}
		hs := active(hosts)
		if len(hs) == 0 {
			return
		}
		if t.IsBlock() {
			r.block(ctx, pc, t, sc, hs)
			continue
		}
		csc := sc.child(t)
		if !r.selected(t, csc) {
			continue
		}
		r.opt.Output.Task(t.Name, handler)
		begin := time.Now()
		r.refresh()
		if t.RunOnce {
			r.runOnce(ctx, pc, t, csc, hs)
		} else {
			g, gctx := errgroup.WithContext(ctx)
			g.SetLimit(r.opt.Forks)
			for _, h := range hs {
				g.Go(func() error {
					r.hostTask(gctx, pc, t, csc, h)
					return nil
				})
			}
			_ = g.Wait()
		}
		if !pc.free {
			r.addPendingHosts()
		}
		r.timeTask(t.Name, time.Since(begin))
		if t.Module == "meta" {
			r.afterMeta(ctx, pc, hs)
		}
		if pc.play.AnyErrorsFatal && len(active(hs)) < len(hs) {
			r.warn("any_errors_fatal: a host failed; ending the play for every host")
			for _, h := range pc.hosts {
				h.ended = true
			}
		}
	}
}

// selected applies --tags, --skip-tags and --start-at-task.
func (r *run) selected(t *playbooks.Task, sc scope) bool {
	if !r.started {
		if t.Name != r.opt.StartAt {
			return false
		}
		r.started = true
	}
	return TagsSelected(sc.tags, r.opt.Tags, r.opt.SkipTags)
}

// TagsSelected is Ansible's tag logic: "always" runs unless skipped by name,
// "never" runs only when asked for by name.
func TagsSelected(taskTags, only, skip []string) bool {
	has := func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	}
	for _, s := range skip {
		if has(taskTags, s) || (s == "all") || (s == "tagged" && len(taskTags) > 0) || (s == "untagged" && len(taskTags) == 0) {
			return false
		}
	}
	if len(only) == 0 || has(only, "all") {
		if has(taskTags, "never") {
			for _, t := range taskTags {
				if t != "never" && has(only, t) {
					return true
				}
			}
			return false
		}
		return true
	}
	if has(taskTags, "always") {
		return true
	}
	for _, o := range only {
		if has(taskTags, o) || (o == "tagged" && len(taskTags) > 0) || (o == "untagged" && len(taskTags) == 0) {
			return true
		}
	}
	return false
}

func (r *run) count(host string, fn func(*Counts)) {
	r.statsMu.Lock()
	defer r.statsMu.Unlock()
	fn(r.stats.Hosts[host])
}

func (r *run) timeTask(name string, d time.Duration) {
	r.statsMu.Lock()
	defer r.statsMu.Unlock()
	if _, ok := r.taskTimes[name]; !ok {
		r.taskOrder = append(r.taskOrder, name)
	}
	r.taskTimes[name] += d
}

func (r *run) slowest(n int) []TaskTime {
	var out []TaskTime
	for _, name := range r.taskOrder {
		out = append(out, TaskTime{Task: name, Duration: r.taskTimes[name]})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Duration > out[j].Duration })
	if len(out) > n {
		out = out[:n]
	}
	return out
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

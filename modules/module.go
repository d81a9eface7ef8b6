// Package modules holds runbook's modules: one file per module, each a type
// that registers itself by ID in init() and reads its arguments strictly.
// Modules reach a host only through the small Host interface defined here.
package modules

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/runbook-lab/runbook/hostexec"
)

// Host, Cmd and CmdResult are hostexec's: the one definition of running a
// command on a host, shared with the transports below and the templates.
type (
	Host      = hostexec.Host
	Cmd       = hostexec.Cmd
	CmdResult = hostexec.CmdResult
)

// Env is what a module gets to run one task on one host.
type Env struct {
	Host  Host
	Check bool // report what would change, change nothing
	Diff  bool // fill Result.Diff
	// Vars is the host's variables, read-only (for modules such as debug).
	Vars map[string]any
	// Warn records a warning shown under the task's result.
	Warn func(format string, args ...any)
	// Progress shows how a long step is going (a download); may be nil.
	Progress func(msg string)
	// Reconnect drops the host's connection and dials it again until it
	// answers or timeout passes (reboot); nil where it cannot.
	Reconnect func(ctx context.Context, timeout time.Duration) (Host, error)
	// HostFor reaches another inventory host over its own connection (a
	// probe polling every node must not go through the one host a
	// partition cuts off); nil where the runner cannot.
	HostFor func(ctx context.Context, name string) (Host, error)
	// Dirs are the folders a relative local file (copy's or template's
	// src) is looked for in, first match wins: the role's folder, then the
	// folder of the file the task is written in.
	Dirs []string
	// Jobs are the run's background tasks (async with poll: 0), for
	// async_status; nil where the runner keeps none.
	Jobs Jobs
}

// Jobs are a run's background tasks (a task with async: N and poll: 0).
// runbook keeps them in the controller, not in files on the host: a job
// lasts as long as the run that started it.
type Jobs interface {
	// Job is a job's result once it has finished (finished false until
	// then); known is false for an id the run never gave out.
	Job(jid string) (result map[string]any, finished, known bool)
	// Forget drops a job's result (async_status mode=cleanup).
	Forget(jid string) bool
}

// FindLocal finds a file on the machine running runbook as Ansible does:
// an absolute path as is; else DIR/sub/name, then DIR/name for each of
// env.Dirs (sub is "files" or "templates"); else name from the working
// folder.
func FindLocal(env *Env, name, sub string) string {
	if filepath.IsAbs(name) {
		return name
	}
	for _, d := range env.Dirs {
		for _, p := range []string{filepath.Join(d, sub, name), filepath.Join(d, name)} {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	return name
}

// Module is a configured task: its exported fields are its arguments.
type Module interface {
	Run(ctx context.Context, env *Env) (*Result, error)
}

// Validator is implemented by modules that check their arguments before any
// host is contacted.
type Validator interface {
	Validate() error
}

// FreeForm is implemented by modules that accept `module: some string`; the
// string goes to the named argument (e.g. command's cmd).
type FreeForm interface {
	FreeFormArg() string
}

// RawArgs is implemented by modules whose arguments are arbitrary names
// (set_fact): they get the rendered mapping instead of struct decoding.
type RawArgs interface {
	SetRaw(args map[string]any) error
}

// ControllerOnly marks modules that never touch the host (debug, set_fact,
// assert, fail): they run without opening a connection.
type ControllerOnly interface {
	ControllerOnly()
}

// ConnectionWaiter is a module the runner connects for with retries (the
// host may still be booting).
type ConnectionWaiter interface {
	ConnectTimeout() time.Duration
}

// AtEnd registers a function run when a run ends, however it ends (a
// drill's probe must not keep writing after a failed drill).
func AtEnd(f func()) { atEnd = append(atEnd, f) }

var atEnd []func()

// End runs the AtEnd functions; the runner calls it once per run.
func End() {
	for _, f := range atEnd {
		f()
	}
}

// Result is what a module did (or would do, in check mode).
type Result struct {
	Changed bool
	Failed  bool
	Skipped bool
	Msg     string
	Diffs   []Diff
	// Data holds module-specific fields for register (rc, stdout, rows...).
	Data map[string]any
	// Facts are merged into the host's variables (set_fact, facts).
	Facts map[string]any
	// AddHosts join the running inventory when the task has run on every
	// host (add_host).
	AddHosts []NewHost
	// Apply makes the change the module found (Changed and Diffs say what
	// it is): a module plans, the runner applies. The runner calls Apply
	// unless the task runs in check mode, so no module decides that for
	// itself. Apply may fill the result further (a command's output).
	Apply func(ctx context.Context) error
	// Unplanned says the module cannot tell what Apply will change until
	// it runs (a command, a script): in check mode the task is skipped,
	// not reported as a change.
	Unplanned bool
}

// Execute runs a module as the runner does: it plans (Run), then the plan
// is carried out unless env.Check (Carry).
func Execute(ctx context.Context, m Module, env *Env) (*Result, error) {
	res, err := m.Run(ctx, env)
	if err != nil {
		return res, err
	}
	return Carry(ctx, res, env.Check, "")
}

// Carry carries out what a module planned: its Apply, unless check mode.
// This is where check mode decides whether a module changes anything, for
// every module alike. A step whose effect cannot be known before it runs
// (a command) is skipped in check mode, as Ansible skips it.
func Carry(ctx context.Context, res *Result, check bool, module string) (*Result, error) {
	if res == nil || res.Apply == nil {
		return res, nil
	}
	apply := res.Apply
	res.Apply = nil
	if check {
		if res.Unplanned {
			return &Result{Skipped: true, Msg: strings.TrimSpace(module + " not run in check mode")}, nil
		}
		return res, nil
	}
	return res, apply(ctx)
}

// Act is the plan of a module that acts as it runs (a command, a probe, a
// request that changes something): nothing is known before, so in check
// mode it is skipped; otherwise do runs and its result is the task's.
func Act(do func(ctx context.Context) (*Result, error)) *Result {
	res := &Result{Changed: true, Unplanned: true}
	res.Apply = func(ctx context.Context) error {
		r, err := do(ctx)
		if err == nil && r != nil {
			*res = *r
		}
		return err
	}
	return res
}

// Do carries out a plan at once: for a step that is itself part of an
// Apply (which the runner calls only outside check mode), such as writing
// one of several files.
func (r *Result) Do(ctx context.Context) error {
	if r == nil || r.Apply == nil {
		return nil
	}
	apply := r.Apply
	r.Apply = nil
	return apply(ctx)
}

// Then plans step after the steps already planned: Apply runs them in
// order and stops at the first error.
func (r *Result) Then(step func(ctx context.Context) error) {
	if step == nil {
		return
	}
	prev := r.Apply
	if prev == nil {
		r.Apply = step
		return
	}
	r.Apply = func(ctx context.Context) error {
		if err := prev(ctx); err != nil {
			return err
		}
		return step(ctx)
	}
}

// NewHost is a host added to the running inventory.
type NewHost struct {
	Name   string
	Groups []string
	Vars   map[string]any
}

// Diff is a before/after pair shown under --diff.
type Diff struct {
	Path   string
	Before string
	After  string
}

// Info describes a module for the registry and `runbook doc`.
type Info struct {
	ID      string
	Summary string
	Example string
	New     func() Module
}

// Registry maps module IDs to their Info. Tests may build their own.
type Registry struct {
	byID map[string]Info
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{byID: map[string]Info{}} }

// Default holds every module compiled into runbook.
var Default = NewRegistry()

// Register adds a module; it panics on an empty or duplicate ID (a programming error).
func (r *Registry) Register(info Info) {
	if info.ID == "" || info.New == nil {
		panic("modules: Register with empty ID or nil New")
	}
	if _, dup := r.byID[info.ID]; dup {
		panic("modules: duplicate module " + info.ID)
	}
	made := info.New
	info.New = func() Module {
		m := made()
		applyDefaults(m)
		return m
	}
	r.byID[info.ID] = info
}

// Lookup finds a module by ID, or by the name Ansible gives it (see
// Canonical).
func (r *Registry) Lookup(id string) (Info, bool) {
	i, ok := r.byID[r.Canonical(id)]
	return i, ok
}

// ansibleNames maps Ansible's module names that differ from runbook's to
// the runbook module that takes the same arguments.
var ansibleNames = map[string]string{
	"template": "file_template", "service": "systemd", "systemd_service": "systemd",
	"setup": "facts", "gather_facts": "facts",
	"community.postgresql.postgresql_query": "postgresql_query",
	"community.postgresql.postgresql_user":  "postgresql_user",
	"community.postgresql.postgresql_db":    "postgresql_db",
	"community.postgresql.postgresql_privs": "postgresql_privs",
	"community.general.ini_file":            "ini_file",
	"community.general.modprobe":            "modprobe",
	"community.general.seport":              "seport",
	"community.general.capabilities":        "capabilities",
	// modules that moved from ansible's core into collections keep their
	// arguments: Ansible 2.9's mount, sysctl, authorized_key are these
	"ansible.posix.mount":          "mount",
	"ansible.posix.sysctl":         "sysctl",
	"ansible.posix.authorized_key": "authorized_key",
	"community.general.timezone":   "timezone",
}

// Canonical is the runbook module ID for a name as Ansible users write it:
// the ID itself, its fully-qualified ansible.builtin (or ansible.legacy)
// name, or Ansible's name for the same job (template, service, package).
// Unknown names come back unchanged.
func (r *Registry) Canonical(name string) string {
	if _, ok := r.byID[name]; ok {
		return name
	}
	short := name
	for _, prefix := range []string{"ansible.builtin.", "ansible.legacy."} {
		short = strings.TrimPrefix(short, prefix)
	}
	if id, ok := ansibleNames[short]; ok {
		short = id
	} else if id, ok := ansibleNames[name]; ok {
		short = id
	}
	if _, ok := r.byID[short]; ok {
		return short
	}
	return name
}

// IDs lists the registered module IDs, sorted.
func (r *Registry) IDs() []string {
	out := make([]string, 0, len(r.byID))
	for id := range r.byID {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Register adds a module to Default; every module package calls it from
// init().
func Register(info Info) { Default.Register(info) }

// Failf is a failed result with a message.
func Failf(format string, args ...any) *Result {
	return &Result{Failed: true, Msg: fmt.Sprintf(format, args...)}
}

// Package playbooks is runbook's playbook language: it parses and validates
// playbook files (on disk or embedded) into plays and tasks, keeping every
// position, so that bad input is reported at file:line:column before any
// host is contacted.
package playbooks

import (
	"go.yaml.in/yaml/v3"

	"github.com/runbook-lab/runbook/internal/diag"
	"github.com/runbook-lab/runbook/internal/pyansible"
)

// Playbook is a loaded, validated playbook (import_playbook already expanded).
type Playbook struct {
	Name  string
	Plays []*Play
}

// Play runs tasks on the hosts its pattern selects.
type Play struct {
	Name        string
	Hosts       string
	Vars        map[string]any
	Become      *bool
	BecomeExpr  string // a templated become, decided per host
	BecomeUser  string
	GatherFacts *bool
	Serial      int // hosts per batch; 0: all at once
	SerialPct   int // or a percentage of the play's hosts (serial: "30%")
	// Strategy is "linear" (default: each task on every host, then the
	// next) or "free" (each host runs its tasks as fast as it can).
	Strategy string
	Tags     []string
	Tasks    []*Task
	Handlers []*Task
	// LateVarsFiles are vars_files entries with templated names, read for
	// each host when the play starts (the first that exists).
	LateVarsFiles []LateVarsFile
	// Prompts are vars_prompt: runbook runs unattended, so each must come
	// from -e or have a default.
	Prompts []Prompt
	// Environment is set for every command of the play (environment:);
	// EnvironmentExpr is one written as a template naming a mapping.
	Environment     map[string]string
	EnvironmentExpr string
	// RemoteUser is the user to connect as (remote_user:), unless the
	// inventory names one.
	RemoteUser string
	// Connection "local" runs the play on this machine.
	Connection string
	// AnyErrorsFatal ends the play for every host when one fails.
	AnyErrorsFatal bool
	// ForceHandlers runs notified handlers on hosts that failed later
	// (runbook's default; false is Ansible's).
	ForceHandlers *bool
	IgnoreErrors  bool
	NoLog         bool
	CheckMode     *bool
	At            Pos
}

// Task is one step: a module call, or a block of steps.
type Task struct {
	Name   string
	Module string
	// Python is the module's source when runbook runs it as Ansible does
	// (a module it has no Go code for); nil otherwise.
	Python      *pyansible.Source
	Args        *yaml.Node // raw, decoded by module ID at run time
	When        []string
	Loop        *yaml.Node
	LoopKind    string // "" (loop), or the with_* lookup it came from: items, list, dict, fileglob, indexed_items
	LoopVar     string
	IndexVar    string  // loop_control.index_var
	LoopLabel   string  // loop_control.label: what the output shows for each item
	LoopPause   float64 // loop_control.pause: seconds between items
	Register    string
	Notify      []string
	Listen      []string
	ChangedWhen []string
	FailedWhen  []string
	Until       []string
	Retries     int
	RetriesSet  bool    // retries was written (0 then means one attempt; unset means 3 retries)
	Delay       float64 // seconds between until attempts
	DelaySet    bool    // delay was written (0 means no wait; unset means 5 s)
	// RetriesExpr and DelayExpr are templated retries and delay, read
	// for each host when the task runs
	RetriesExpr, DelayExpr string
	Timeout                float64 // seconds a task may run on a host; 0: no limit
	// Async is async: seconds the task may run; Poll is poll: seconds
	// between checks (0 with Async: started in the background, its
	// result read by async_status). PollSet says poll was written.
	Async   float64
	Poll    float64
	PollSet bool
	// AsyncExpr and PollExpr are templated async and poll, read per host.
	AsyncExpr, PollExpr string
	IgnoreErrors        bool
	// IgnoreErrorsExpr and NoLogExpr are templated ignore_errors and
	// no_log ("{{ .ansible_check_mode }}"), rendered for each host.
	IgnoreErrorsExpr, NoLogExpr string
	Tags                        []string
	Become                      *bool
	BecomeExpr                  string // a templated become, decided per host
	BecomeUser                  string
	DelegateTo                  string
	DelegateAt                  Pos  // where delegate_to was written
	DelegateFacts               bool // facts the task sets go to the delegated host
	RunOnce                     bool
	NoLog                       bool
	CheckMode                   *bool  // false: run even under --check (read-only commands)
	CheckModeExpr               string // a templated check_mode, decided per host
	Vars                        map[string]any
	Environment                 map[string]string // environment: for the task's commands
	EnvironmentExpr             string            // or a template naming a mapping
	RemoteUser                  string            // remote_user: connect as this user
	Connection                  string            // connection: local
	RoleDir                     string            // the role's folder, for a task that comes from a role
	RoleName                    string
	// RoleDefaults are a role's defaults/main.yml, on the block that runs
	// the role: beneath the inventory in precedence, as Ansible's.
	RoleDefaults map[string]any
	// IncludeIf marks the blocks of an include_tasks whose file name is a
	// template: the block runs on a host only when the rendered name is
	// File (or, with Others, when it is none of them).
	IncludeIf *IncludeIf
	// StaticImport marks the block an import_tasks made: among handlers,
	// its tasks are the handlers (Ansible's static import).
	StaticImport bool
	// Included marks the block an include_tasks made (a handler by its
	// own name, unlike a literal block's tasks).
	Included bool
	Block    []*Task
	Rescue   []*Task
	Always   []*Task
	At       Pos
}

// IsBlock reports whether the task is a block of tasks.
func (t *Task) IsBlock() bool { return t.Block != nil }

// Pos is where something was written.
type Pos struct {
	Src  *diag.Source
	Line int
	Col  int
}

// Errorf builds a positioned error at p.
func (p Pos) Errorf(format string, args ...any) error {
	return diag.At(p.Src, p.Line, p.Col, format, args...)
}

// String is file:line:col.
func (p Pos) String() string {
	if p.Src == nil {
		return "?"
	}
	return p.Src.Name + ":" + itoa(p.Line) + ":" + itoa(p.Col)
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	return string(b[n:])
}

// Catalog is what the loader needs to know about modules: which exist, and
// whether a task's arguments are valid for one. The runner supplies it.
type Catalog interface {
	IDs() []string
	Has(id string) bool
	Canonical(name string) string // the ID for an Ansible name (ansible.builtin.copy)
	ValidateArgs(src *diag.Source, id string, args *yaml.Node) error
}

// Prompt is one vars_prompt entry.
type Prompt struct {
	Name, Prompt string
	Default      any
	HasDefault   bool
	Private      bool
	At           Pos
}

// LateVarsFile is a vars_files entry read at run time.
type LateVarsFile struct {
	Names []string // candidates, templates
	Dir   string   // the playbook's folder
	At    Pos
}

// IncludeIf is the per-host choice of a templated include's file.
type IncludeIf struct {
	Template string   // the include's file name as written
	File     string   // this block's file
	Others   []string // for the guard: every file found
	// TrimExt compares the rendered name without .yml/.yaml (a role's
	// tasks_from names a file with or without it)
	TrimExt bool
}

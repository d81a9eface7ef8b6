package runner

import (
	"fmt"

	"github.com/runbook-lab/runbook/playbooks"
)

// Plan is what a run will do, decided before any host is contacted: for
// each play, its hosts after the pattern and --limit, and its tasks after
// --tags, --skip-tags and --start-at-task. The run, --list-hosts,
// --list-tasks and --check all read the same plan.
type Plan struct {
	Plays []*PlannedPlay
	limit map[string]bool // nil: no --limit
}

// PlannedPlay is one play of a plan.
type PlannedPlay struct {
	Play    *playbooks.Play
	Pattern string   // the hosts pattern, rendered
	Matched []string // hosts the pattern selects, before --limit
	Hosts   []string // hosts the play runs on
	// RenderErr: the templated pattern could not be rendered; Err: it
	// matched nothing or is malformed.
	RenderErr, Err error
	Tasks          []PlannedTask
}

// PlannedTask is a task (not a block) the play would run, with the tags it
// has from its play and blocks.
type PlannedTask struct {
	Task *playbooks.Task
	Tags []string
}

// Selection is what narrows a playbook to a plan.
type Selection struct {
	Limit         string
	ExtraVars     map[string]any
	Tags, Skip    []string
	StartAt       string
	WithHandlers  bool // list handlers' tasks too
	HostsOptional bool // no inventory: plan tasks only
}

// HostSelector is the part of an inventory a plan needs.
type HostSelector interface {
	Select(pattern string) ([]string, error)
}

// NewPlan narrows pb by sel. An unknown --limit is an error; a play whose
// pattern fails is planned with RenderErr or Err set (the run decides
// what that means).
func NewPlan(pb *playbooks.Playbook, inv HostSelector, sel Selection) (*Plan, error) {
	var limit map[string]bool
	if sel.Limit != "" && inv != nil {
		hosts, err := inv.Select(sel.Limit)
		if err != nil {
			return nil, fmt.Errorf("--limit: %w", err)
		}
		if len(hosts) == 0 {
			// as Ansible: a limit that leaves nothing is a mistake, not a quiet no-op
			return nil, fmt.Errorf("--limit %q leaves no host of the inventory to target", sel.Limit)
		}
		limit = map[string]bool{}
		for _, h := range hosts {
			limit[h] = true
		}
	}
	started := sel.StartAt == ""
	plan := &Plan{limit: limit}
	for _, p := range pb.Plays {
		pp := &PlannedPlay{Play: p}
		pp.Pattern, pp.RenderErr = PlayHosts(p, sel.ExtraVars)
		if inv != nil {
			plan.Reselect(pp, inv)
		}
		var walk func([]*playbooks.Task, []string)
		walk = func(ts []*playbooks.Task, inherited []string) {
			for _, t := range ts {
				tags := append(append([]string(nil), inherited...), t.Tags...)
				if t.IsBlock() {
					walk(t.Block, tags)
					walk(t.Rescue, tags)
					walk(t.Always, tags)
					continue
				}
				if !started {
					if t.Name != sel.StartAt {
						continue
					}
					started = true
				}
				if TagsSelected(tags, sel.Tags, sel.Skip) {
					pp.Tasks = append(pp.Tasks, PlannedTask{Task: t, Tags: tags})
				}
			}
		}
		walk(p.Tasks, p.Tags)
		if sel.WithHandlers {
			walk(p.Handlers, p.Tags)
		}
		plan.Plays = append(plan.Plays, pp)
	}
	return plan, nil
}

// Reselect matches the play's pattern again: add_host may have grown the
// inventory since the plan was made. --limit stays what it was.
func (plan *Plan) Reselect(pp *PlannedPlay, inv HostSelector) {
	if pp.RenderErr != nil {
		return
	}
	pp.Hosts = nil
	pp.Matched, pp.Err = inv.Select(pp.Pattern)
	for _, h := range pp.Matched {
		if plan.limit == nil || plan.limit[h] {
			pp.Hosts = append(pp.Hosts, h)
		}
	}
}

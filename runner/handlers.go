package runner

import (
	"context"

	"github.com/runbook-lab/runbook/playbooks"
)

// Handlers, blocks and the play-wide meta actions: what runs after, around
// or instead of a task list.

// forceHandlers says whether handlers run on a host that failed after
// notifying: the play's force_handlers when written, else runbook's
// default (yes) unless --no-handlers-on-failure.
func (r *run) forceHandlers(p *playbooks.Play) bool {
	if p.ForceHandlers != nil {
		return *p.ForceHandlers
	}
	return !r.opt.NoHandlersOnFailure
}

// afterMeta acts on the play-wide meta actions once every host has run
// the meta task: flush_handlers runs the notified handlers now; end_play
// ends the play for every host.
func (r *run) afterMeta(ctx context.Context, pc *playCtx, hs []*hostState) {
	flush, end := false, false
	for _, h := range hs {
		flush, end = flush || h.flush, end || h.endPlay
		h.flush, h.endPlay = false, false
	}
	if flush {
		r.handlers(ctx, pc)
	}
	if end {
		for _, h := range pc.hosts {
			h.ended = true
		}
	}
}

// block runs block, then rescue on the hosts that failed in it, then always
// on every host that entered it.
func (r *run) block(ctx context.Context, pc *playCtx, t *playbooks.Task, sc scope, hs []*hostState) {
	bsc := sc.child(t)
	r.tasks(ctx, pc, t.Block, bsc, hs, false)
	var failedIn []*hostState
	for _, h := range hs {
		if h.failed {
			failedIn = append(failedIn, h)
		}
	}
	if len(failedIn) > 0 && t.Rescue != nil {
		r.factsMu.Lock()
		for _, h := range failedIn {
			h.failed = false
			h.facts["ansible_failed_task"] = h.lastFailed
			h.facts["ansible_failed_result"] = h.lastFailedResult
			h.version++
		}
		r.factsMu.Unlock()
		r.tasks(ctx, pc, t.Rescue, bsc, failedIn, false)
		for _, h := range failedIn {
			if !h.failed && !h.unreachable {
				r.count(h.name, func(c *Counts) { c.Rescued++; c.Failed-- })
			}
		}
	}
	if t.Always != nil {
		var still []*hostState
		wasFailed := map[*hostState]bool{}
		for _, h := range hs {
			if !h.unreachable {
				wasFailed[h] = h.failed
				h.failed = false
				still = append(still, h)
			}
		}
		r.tasks(ctx, pc, t.Always, bsc, still, false)
		for h, f := range wasFailed {
			h.failed = h.failed || f
		}
	}
}

// handlers runs notified handlers in the order they are defined, on the
// hosts that notified them. Hosts that failed later in the play still run
// the handlers they notified before failing (unless --no-handlers-on-failure),
// so a config change is never left without its restart.
func (r *run) handlers(ctx context.Context, pc *playCtx) {
	var ran []*playbooks.Task
	for _, hd := range pc.play.Handlers {
		var hs []*hostState
		for _, h := range pc.hosts {
			if h.unreachable || (h.failed && !r.forceHandlers(pc.play)) {
				continue
			}
			if h.notified[hd.Name] || anyNotified(h, hd.Listen) {
				hs = append(hs, h)
			}
		}
		if len(hs) == 0 || ctx.Err() != nil {
			continue
		}
		wasFailed := map[*hostState]bool{}
		for _, h := range hs {
			wasFailed[h] = h.failed
			h.failed = false
		}
		r.tasks(ctx, pc, []*playbooks.Task{hd}, scope{tags: []string{"always"}, become: pc.play.Become, becomeExpr: pc.play.BecomeExpr, becomeUser: pc.play.BecomeUser}, hs, true)
		for h, f := range wasFailed {
			h.failed = h.failed || f
		}
		ran = append(ran, hd)
	}
	// a handler runs once per notification: flush_handlers then the end
	// of the play do not run it twice
	for _, hd := range ran {
		for _, h := range pc.hosts {
			delete(h.notified, hd.Name)
			for _, l := range hd.Listen {
				delete(h.notified, l)
			}
		}
	}
}

func anyNotified(h *hostState, names []string) bool {
	for _, n := range names {
		if h.notified[n] {
			return true
		}
	}
	return false
}

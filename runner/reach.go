package runner

import (
	"context"
	"maps"

	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/templates"
	"github.com/runbook-lab/runbook/transport"
)

// reach connects to the task's target: the host, or its delegate_to with
// the delegate's own variables. A host a check run would create is
// skipped, not unreachable. A non-nil result ends the attempt.
func (r *run) reach(ctx context.Context, m modules.Module, sc scope, name string, vars map[string]any, check bool) (conn transport.Conn, delegate string, early *HostResult, earlyData map[string]any) {
	target, tvars := name, vars
	if sc.delegateTo != "" {
		d, err := templates.Render("delegate_to", sc.delegateTo, vars)
		if err != nil {
			early, earlyData = failed("delegate_to: %v", err)
			return nil, "", early, earlyData
		}
		target, delegate = d, d
		if _, ok := r.opt.Inventory.Host(d); ok {
			tvars = r.opt.Inventory.HostVars(d)
		} else if d == "localhost" || d == "127.0.0.1" {
			tvars = map[string]any{"ansible_connection": "local"} // Ansible's implicit localhost
		} else {
			tvars = map[string]any{}
		}
	}
	if sc.connection == "local" {
		return &transport.Local{HostName: target}, delegate, nil, nil
	}
	if sc.remoteUser != "" && tvars["ansible_user"] == nil {
		tvars = maps.Clone(tvars) // the inventory's ansible_user wins, as in Ansible
		tvars["ansible_user"] = sc.remoteUser
	}
	var err error
	if w, ok := m.(modules.ConnectionWaiter); ok {
		if check {
			// a host this run would create does not exist in check mode
			if conn, err = r.opt.Connector.Connect(ctx, target, tvars); err != nil {
				return nil, delegate, &HostResult{Status: StatusSkipped, Msg: "not reachable yet; a real run would wait for it"},
					map[string]any{"skipped": true, "changed": false, "failed": false}
			}
		} else {
			conn, err = r.opt.Connector.ConnectWait(ctx, target, tvars, w.ConnectTimeout())
		}
	} else {
		conn, err = r.opt.Connector.Connect(ctx, target, tvars)
	}
	if err != nil {
		early, earlyData = unreachable(err)
		return nil, delegate, early, earlyData
	}
	return conn, delegate, nil, nil
}

// asUser wraps the connection in become when the task (or -b, or the
// inventory) asks for it; as names the user for --explain ("" for none).
func (r *run) asUser(conn transport.Conn, sc scope, vars map[string]any) (host modules.Host, as string) {
	become := truthy(vars["ansible_become"]) || r.opt.Become
	if sc.become != nil {
		become = *sc.become
	}
	user := str(vars["ansible_become_user"])
	if sc.becomeUser != "" {
		user = sc.becomeUser
	}
	pw := r.opt.BecomePassword
	if p := str(vars["ansible_become_password"]); p != "" {
		pw = []byte(p)
	}
	if become {
		as = user
		if as == "" {
			as = "root"
		}
	}
	return withBecome(conn, become, user, pw), as
}

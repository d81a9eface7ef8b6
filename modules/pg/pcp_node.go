package pg

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/runbook-lab/runbook/modules"
)

// PcpNode reads or changes a backend's status in pgpool through pcp, with
// the password from a .pcppass file. Success is judged by the node's status
// afterwards, never by pcp's exit code (pcp_attach_node exits 0 for a node
// the health check detaches again at once).
type PcpNode struct {
	NodeID  int    `yaml:"node_id" doc:"backend number"`
	Action  string `yaml:"action" doc:"status, attach, detach or promote" default:"status"`
	Host    string `yaml:"host" doc:"pcp host or socket directory" default:"localhost"`
	Port    int    `yaml:"port" doc:"pcp port" default:"9898"`
	User    string `yaml:"user" doc:"pcp user" default:"pgpool"`
	Pcppass string `yaml:"pcppass" doc:".pcppass file with the pcp password (PCPPASSFILE)"`
	Timeout int    `yaml:"timeout" doc:"seconds to wait for the wanted status" default:"20"`
	BinDir  string `yaml:"bin_dir" doc:"where pcp_* commands are (default: PATH)"`
}

func init() {
	modules.Register(modules.Info{ID: "pcp_node", Summary: "pgpool-II backend status, attach, detach, promote through pcp (.pcppass); attach is a no-op for a node already up; verified by status.",
		Example: "pcp_node:\n  node_id: 0\n  action: attach\n  pcppass: /root/.pcppass", New: func() modules.Module {
			return &PcpNode{Action: "status", Host: "localhost", Port: 9898, User: "pgpool", Timeout: 20}
		}})
}

// Validate checks the action.
func (p *PcpNode) Validate() error {
	switch p.Action {
	case "status", "attach", "detach", "promote":
		return nil
	}
	return fmt.Errorf("pcp_node: action must be status, attach, detach or promote, got %q", p.Action)
}

func (p *PcpNode) cmd(name string, extra ...string) string {
	bin := name
	if p.BinDir != "" {
		bin = strings.TrimSuffix(p.BinDir, "/") + "/" + name
	}
	args := append([]string{bin, "-h", p.Host, "-p", fmt.Sprint(p.Port), "-U", p.User, "-w"}, extra...)
	env := ""
	if p.Pcppass != "" {
		env = "PCPPASSFILE=" + modules.Quote(p.Pcppass) + " "
	}
	return env + modules.Join(args...)
}

// NodeStatus is what pcp_node_info says of a backend.
type NodeStatus struct {
	Host, Port, Status, Role string
}

// Up says whether pgpool uses the node (status 1 "waiting" or 2 "up").
func (n NodeStatus) Up() bool { return n.Status == "1" || n.Status == "2" }

// ParseNodeInfo reads `pcp_node_info --verbose` output, one "Name : value"
// line per field: the names have stayed while the short form's columns
// moved (4.3 put "Backend Status Name" where 4.2 had the role).
func ParseNodeInfo(out string) (NodeStatus, error) {
	fields := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	st := NodeStatus{Host: fields["Hostname"], Port: fields["Port"], Status: fields["Status"], Role: fields["Role"]}
	if st.Host == "" || st.Status == "" || st.Role == "" {
		return NodeStatus{}, fmt.Errorf("unexpected pcp_node_info output %q", strings.TrimSpace(out))
	}
	return st, nil
}

// status reads the node's status; a pgpool that has just started answers
// pcp with nothing for a moment, so an empty answer is retried briefly.
func (p *PcpNode) status(ctx context.Context, h modules.Host) (NodeStatus, error) {
	deadline := time.Now().Add(time.Duration(p.Timeout) * time.Second)
	for {
		r, err := modules.RunOK(ctx, h, p.cmd("pcp_node_info", "--verbose", "-n", fmt.Sprint(p.NodeID)), "pcp_node_info")
		if err != nil {
			return NodeStatus{}, err
		}
		st, err := ParseNodeInfo(r.Stdout)
		if err == nil || strings.TrimSpace(r.Stdout) != "" || time.Now().After(deadline) {
			return st, err
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Run performs the action.
func (p *PcpNode) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	st, err := p.status(ctx, env.Host)
	if err != nil {
		return nil, err
	}
	data := func(s NodeStatus) map[string]any {
		return map[string]any{"node_id": p.NodeID, "host": s.Host, "port": s.Port, "status": s.Status, "up": s.Up(), "role": s.Role}
	}
	res := &modules.Result{Data: data(st)}
	var cmd string
	var done func(NodeStatus) bool
	switch p.Action {
	case "status":
		res.Msg = fmt.Sprintf("node %d %s:%s up=%v role=%s", p.NodeID, st.Host, st.Port, st.Up(), st.Role)
		return res, nil
	case "attach":
		if st.Up() {
			return res, nil
		}
		cmd, done = p.cmd("pcp_attach_node", "-n", fmt.Sprint(p.NodeID)), NodeStatus.Up
	case "detach":
		if !st.Up() {
			return res, nil
		}
		cmd, done = p.cmd("pcp_detach_node", "-n", fmt.Sprint(p.NodeID)), func(s NodeStatus) bool { return !s.Up() }
	case "promote":
		if st.Role == "primary" {
			return res, nil
		}
		cmd, done = p.cmd("pcp_promote_node", "-n", fmt.Sprint(p.NodeID)), func(s NodeStatus) bool { return s.Role == "primary" }
	}
	res.Changed = true
	res.Msg = fmt.Sprintf("%s node %d", p.Action, p.NodeID)
	res.Then(func(ctx context.Context) error {
		// pcp's own connection may be dropped while pgpool restarts its
		// children ("unable to read data from socket", seen right after a
		// promotion on the container tier): a refused request is sent
		// again, sooner than an unanswered one, until the deadline
		var sendErr error
		send := func() time.Time {
			_, sendErr = modules.RunOK(ctx, env.Host, cmd, "pcp "+p.Action)
			if sendErr != nil {
				return time.Now().Add(time.Second)
			}
			return time.Now().Add(resendEvery)
		}
		deadline := time.Now().Add(time.Duration(p.Timeout) * time.Second)
		resend := send()
		for {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			st, err = p.status(ctx, env.Host)
			if err == nil && done(st) {
				res.Data = data(st)
				return nil
			}
			// pgpool takes requests in order: one it queued before ours (a
			// health check's "node down" from while the node was stopped) can
			// undo ours, and while failover_command runs it answers nothing;
			// the request is sent again until the status says it took
			if time.Now().After(resend) {
				resend = send()
			}
			if time.Now().After(deadline) {
				if sendErr != nil {
					return fmt.Errorf("%w (sent again for %ds)", sendErr, p.Timeout)
				}
				*res = modules.Result{Failed: true, Data: data(st), Msg: fmt.Sprintf("pcp %s of node %d: pcp said yes, but the node's status is still %s (role %s) after %ds", p.Action, p.NodeID, st.Status, st.Role, p.Timeout)}
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
		}
	})
	return res, nil
}

// resendEvery is how often an unanswered pcp request is sent again.
const resendEvery = 5 * time.Second

var _ modules.Validator = (*PcpNode)(nil)

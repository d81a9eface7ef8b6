package runner_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/runbook-lab/runbook/internal/diag"
	"github.com/runbook-lab/runbook/inventory"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/playbooks"
	"github.com/runbook-lab/runbook/runner"
	"github.com/runbook-lab/runbook/transport"
)

// warner warns and changes something: what virt_install does when a
// guest dies under KVM and it falls back to software emulation.
type warner struct{}

func (*warner) Run(_ context.Context, env *modules.Env) (*modules.Result, error) {
	env.Warn("the guest died under KVM; using software emulation")
	return &modules.Result{Changed: true, Msg: "define, start (software emulation)"}, nil
}

// A task run in the background (async, poll: 0) keeps its warnings and
// message: async_status shows them when it reads the finished job, and the
// start itself can be marked unchanged.
func TestAsyncJobWarningsReachTheOutput(t *testing.T) {
	reg := modules.NewRegistry()
	reg.Register(modules.Info{ID: "warner", New: func() modules.Module { return &warner{} }})
	st, _ := modules.Default.Lookup("async_status")
	reg.Register(st)
	i, _ := inventory.Parse(&diag.Source{Name: "inv.yaml", Text: []byte("all:\n  hosts:\n    h1:\n")}, ".")
	l := &playbooks.Loader{Catalog: runner.Catalog{Reg: reg}}
	p, err := l.LoadText("t.yaml", []byte(`- hosts: h1
  gather_facts: false
  tasks:
    - warner: {}
      async: 20
      poll: 0
      changed_when: false
      register: job
    - async_status: {jid: "{{ .job.ansible_job_id }}"}
      register: st
      until: st.finished
      retries: 20
      delay: 0.1
`))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var scripts []string
	out := &capture{}
	opt := runner.Options{Registry: reg, Inventory: i, Output: out, Forks: 1,
		Connector: &runner.Connector{Dial: func(_ context.Context, name string, _ map[string]any) (transport.Conn, error) {
			return &hostileConn{name: name, mu: &mu, scripts: &scripts}, nil
		}}}
	stats, err := runner.Run(context.Background(), p, opt)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(out.all, "\n")
	if !strings.Contains(all, "[the guest died under KVM; using software emulation]") || !strings.Contains(all, "define, start (software emulation)") {
		t.Errorf("the job's warning or message is lost:\n%s", all)
	}
	// the start is judged by changed_when (unchanged), the job's own
	// result by async_status (changed): one change in all
	if c := stats.Hosts["h1"]; c.Changed != 1 || !strings.Contains(all, "started in the background") {
		t.Errorf("changed %d, want 1 (the job's change, not its start)\n%s", c.Changed, all)
	}
	if !strings.Contains(all, "define, start (software emulation) map[") {
		t.Errorf("async_status does not show the job's message:\n%s", all)
	}
}

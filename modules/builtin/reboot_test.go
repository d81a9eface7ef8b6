package builtin_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/runbook-lab/runbook/hostexec"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/modules/builtin"
)

// bootHost is a host whose boot id is boot; it records what it was sent.
type bootHost struct {
	boot string
	sent *[]string
}

func (h bootHost) Name() string { return "vm" }
func (h bootHost) Run(_ context.Context, c hostexec.Cmd) (hostexec.CmdResult, error) {
	*h.sent = append(*h.sent, c.Script)
	if strings.Contains(c.Script, "boot_id") {
		return hostexec.CmdResult{Stdout: h.boot + "\n"}, nil
	}
	return hostexec.CmdResult{}, nil
}

// reboot sends the reboot detached, then reconnects until the boot id has
// changed: the first reconnection fails (the host is down), the second
// still sees the old boot (not down yet), the third a new one.
func TestRebootWaitsForANewBoot(t *testing.T) {
	var sent []string
	tries := 0
	env := &modules.Env{Host: bootHost{"old", &sent}, Vars: map[string]any{},
		Reconnect: func(context.Context, time.Duration) (modules.Host, error) {
			tries++
			switch tries {
			case 1:
				return nil, errors.New("connection refused")
			case 2:
				return bootHost{"old", &sent}, nil
			}
			return bootHost{"new", &sent}, nil
		}}
	rb := &builtin.Reboot{RebootTimeout: 30, TestCommand: "whoami", BootTimeCommand: "cat /proc/sys/kernel/random/boot_id", Msg: "m"}
	res, err := modules.Execute(context.Background(), rb, env)
	if err != nil || res.Failed || !res.Changed {
		t.Fatalf("%v %+v", err, res)
	}
	if tries != 3 {
		t.Errorf("reconnected %d times, want 3", tries)
	}
	joined := strings.Join(sent, "\n")
	if !strings.Contains(joined, "nohup sh -c") || !strings.Contains(joined, "systemctl reboot") || !strings.Contains(joined, "whoami") {
		t.Errorf("sent:\n%s", joined)
	}
	n := len(sent)
	res, _ = modules.Execute(context.Background(), rb, &modules.Env{Host: bootHost{"x", &sent}, Check: true})
	if !res.Changed || len(sent) != n {
		t.Errorf("--check: changed=%v, sent %d commands", res.Changed, len(sent)-n)
	}
}

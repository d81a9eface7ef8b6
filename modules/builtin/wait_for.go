package builtin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// WaitFor waits, on the host, until a TCP port accepts (or refuses)
// connections, a path exists (or not), or a command succeeds. The loop runs
// on the host in one command, so waiting costs no round trips.
type WaitFor struct {
	Host           string  `yaml:"host" doc:"address to probe, as seen from the host" default:"127.0.0.1"`
	Port           int     `yaml:"port" doc:"TCP port"`
	Path           string  `yaml:"path" doc:"a path to wait for"`
	Cmd            string  `yaml:"cmd" doc:"a shell command to wait for (exit 0)"`
	State          string  `yaml:"state" doc:"started/present (default) or stopped/absent" default:"started"`
	Timeout        float64 `yaml:"timeout" doc:"seconds before failing" default:"300"`
	Delay          float64 `yaml:"delay" doc:"seconds to wait before the first probe"`
	SearchRegex    string  `yaml:"search_regex" doc:"with path: wait until the file holds a line matching this (extended) regular expression"`
	Msg            string  `yaml:"msg" doc:"the failure message instead of the default"`
	ConnectTimeout int     `yaml:"connect_timeout" doc:"accepted for Ansible playbooks (each probe is short)"`
	Sleep          float64 `yaml:"sleep" doc:"seconds between probes" default:"1"`
}

func init() {
	modules.Register(modules.Info{ID: "wait_for", Summary: "Wait until a port, a path or a command reaches a state, with a timeout.",
		Example: "wait_for:\n  port: 5432\n  timeout: 60", New: func() modules.Module {
			return &WaitFor{Host: "127.0.0.1", State: "started", Timeout: 300, Sleep: 1}
		}})
}

// Validate needs at most one probe (none: it only waits, as Ansible's
// wait_for with a timeout alone sleeps that long).
func (w *WaitFor) Validate() error {
	if w.Timeout < 0 || w.Timeout > modules.MaxWaitSeconds {
		return fmt.Errorf("wait_for: timeout: expected 0 to %d seconds (a year), got %g", int(modules.MaxWaitSeconds), w.Timeout)
	}
	n := 0
	for _, set := range []bool{w.Port != 0, w.Path != "", w.Cmd != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return errors.New("wait_for: give at most one of port, path and cmd")
	}
	switch w.State {
	case "started", "present", "stopped", "absent":
	default:
		return fmt.Errorf("wait_for: state must be started, present, stopped or absent, got %q", w.State)
	}
	return nil
}

// Script is the probe loop run on the host (pure, for tests).
func (w *WaitFor) Script() string {
	var probe string
	switch {
	case w.Port == 0 && w.Path == "" && w.Cmd == "":
		return fmt.Sprintf("sleep %g\nsleep %g", w.Delay, w.Timeout)
	case w.Port != 0:
		// host and port are arguments of the inner shell, never its code
		probe = `bash -c '(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null' wait_for ` + modules.Join(w.Host, strconv.Itoa(w.Port))
	case w.Path != "" && w.SearchRegex != "":
		// a regular file only: grep on a FIFO would wait for a writer past the timeout
		probe = "{ [ -f " + modules.Quote(w.Path) + " ] && grep -Eq -- " + modules.Quote(w.SearchRegex) + " " + modules.Quote(w.Path) + " 2>/dev/null; }"
	case w.Path != "":
		probe = "[ -e " + modules.Quote(w.Path) + " ]"
	default:
		probe = "(" + w.Cmd + ") >/dev/null 2>&1"
	}
	if w.State == "stopped" || w.State == "absent" {
		probe = "! " + probe
	}
	return fmt.Sprintf(`sleep %g
end=$(( $(date +%%s) + %d ))
while :; do
  if %s; then exit 0; fi
  [ "$(date +%%s)" -ge "$end" ] && exit 3
  sleep %g
done`, w.Delay, int(w.Timeout+0.999), probe, w.Sleep)
}

// Run waits.
func (w *WaitFor) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	r, err := env.Host.Run(ctx, modules.Cmd{Script: w.Script()})
	if err != nil {
		return nil, err
	}
	if r.RC == 0 {
		if w.Port == 0 && w.Path == "" && w.Cmd == "" {
			return &modules.Result{Msg: fmt.Sprintf("waited %gs", w.Delay+w.Timeout)}, nil
		}
		return &modules.Result{Msg: "reached " + w.State}, nil
	}
	what := map[bool]string{true: fmt.Sprintf("port %s:%d", w.Host, w.Port), false: modules.Or(w.Path, w.Cmd)}[w.Port != 0]
	msg := fmt.Sprintf("timeout after %gs waiting for %s to be %s", w.Timeout, what, w.State)
	if w.Msg != "" {
		msg = w.Msg
	}
	if e := strings.TrimSpace(r.Stderr); e != "" && r.RC != 3 {
		msg += ": " + e
	}
	return modules.Failf("%s", msg), nil
}

var _ modules.Validator = (*WaitFor)(nil)

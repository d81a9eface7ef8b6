package builtin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// Systemd manages a unit: running state, enablement, masking.
type Systemd struct {
	Name         string `yaml:"name" aliases:"service,unit" doc:"unit name (postgresql, pgpool2, postgresql@15-main)"`
	State        string `yaml:"state" doc:"started, stopped, restarted or reloaded"`
	Enabled      *bool  `yaml:"enabled" doc:"start at boot"`
	Masked       *bool  `yaml:"masked" doc:"masked (cannot be started)"`
	DaemonReload bool   `yaml:"daemon_reload" aliases:"daemon-reload" doc:"run systemctl daemon-reload first"`
	DaemonReexec bool   `yaml:"daemon_reexec" aliases:"daemon-reexec" doc:"run systemctl daemon-reexec first"`
	NoBlock      bool   `yaml:"no_block" doc:"do not wait for the start or stop to finish (systemctl --no-block)"`
	Sleep        int    `yaml:"sleep" doc:"state restarted: seconds between stop and start (Ansible's service)"`
	Scope        string `yaml:"scope" doc:"system (the only one runbook manages)" default:"system"`
	Timeout      int    `yaml:"timeout" doc:"seconds to wait for systemctl (a unit stuck starting or stopping fails the task instead of hanging it)" default:"600"`
	// Use is Ansible's service module's backend choice: on a systemd host
	// auto, systemd and service (the service(8) wrapper) all reach systemd
	Use string `yaml:"use" doc:"the service module's backend: auto, systemd or service (all drive systemd here); for an init script, the sysvinit module" default:"auto"`
}

func init() {
	modules.Register(modules.Info{ID: "systemd", Summary: "Start, stop, restart, reload, enable or mask a systemd unit; reads its state first and shows the journal when it fails.",
		Example: "systemd:\n  name: postgresql\n  state: started\n  enabled: true", New: func() modules.Module { return &Systemd{Timeout: 600} }})
}

// Validate checks the arguments.
func (s *Systemd) Validate() error {
	if s.Name == "" && !s.DaemonReload && !s.DaemonReexec {
		return errors.New("systemd: name is required")
	}
	switch s.Use {
	case "", "auto", "systemd", "service":
	case "sysvinit":
		return errors.New("systemd: use: sysvinit: write the sysvinit module for an init script (it takes the same name, state and enabled)")
	default:
		return fmt.Errorf("systemd: use %q is not a service manager runbook drives (auto, systemd, service)", s.Use)
	}
	if s.Scope != "system" {
		return fmt.Errorf("systemd: scope %q is not supported (system only)", s.Scope)
	}
	switch s.State {
	case "", "started", "stopped", "restarted", "reloaded":
	default:
		return fmt.Errorf("systemd: state must be started, stopped, restarted or reloaded, got %q", s.State)
	}
	return nil
}

// UnitState is what systemctl show says.
type UnitState struct{ Load, Active, Sub, UnitFile string }

// ParseShow reads `systemctl show -p ...` output.
func ParseShow(out string) UnitState {
	var u UnitState
	for _, l := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(l, "=")
		switch k {
		case "LoadState":
			u.Load = v
		case "ActiveState":
			u.Active = v
		case "SubState":
			u.Sub = v
		case "UnitFileState":
			u.UnitFile = v
		}
	}
	return u
}

func (s *Systemd) show(ctx context.Context, h modules.Host) (UnitState, error) {
	r, err := modules.RunOK(ctx, h, "systemctl show "+modules.Quote(s.Name)+" -p LoadState,ActiveState,SubState,UnitFileState", "systemctl show")
	if err != nil {
		return UnitState{}, err
	}
	return ParseShow(r.Stdout), nil
}

// Run brings the unit to the wanted state.
func (s *Systemd) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	if !s.DaemonReload && !s.DaemonReexec {
		return s.plan(ctx, env, false)
	}
	// As Ansible: the reload runs first and is not a change of its own
	// (what it makes systemd see is: a new unit to start, to enable...).
	// The plan is made as the unit stands (a unit file written by an
	// earlier task may not be loaded yet); applying it reloads, then plans
	// again with what systemd now sees and applies that.
	res, err := s.plan(ctx, env, true)
	if err != nil || res.Failed {
		return res, err
	}
	res.Apply = func(ctx context.Context) error {
		for _, what := range []struct {
			on  bool
			cmd string
		}{{s.DaemonReexec, "systemctl daemon-reexec"}, {s.DaemonReload, "systemctl daemon-reload"}} {
			if what.on {
				if _, err := modules.RunOK(ctx, env.Host, what.cmd, what.cmd); err != nil {
					return err
				}
			}
		}
		now, err := s.plan(ctx, env, false)
		if err == nil {
			err = now.Do(ctx)
		}
		if err == nil {
			*res = *now
		}
		return err
	}
	return res, nil
}

// plan compares the unit with the wanted state; pending says a reload is
// still to come (a unit not found yet may be one it loads).
func (s *Systemd) plan(ctx context.Context, env *modules.Env, pending bool) (*modules.Result, error) {
	var steps, changes []string
	res := &modules.Result{Data: map[string]any{"name": s.Name}}
	if s.Name == "" {
		return s.apply(ctx, env, res, steps, changes)
	}
	u, err := s.show(ctx, env.Host)
	if err != nil {
		return nil, err
	}
	if u.Load == "not-found" && pending {
		// a unit file written by an earlier task: the reload loads it
		return &modules.Result{Changed: true, Msg: "would load " + s.Name + " after daemon-reload", Data: res.Data}, nil
	}
	if u.Load == "not-found" {
		return modules.Failf("unit %s not found on %s", s.Name, env.Host.Name()), nil
	}
	res.Data["active_state"], res.Data["unit_file_state"] = u.Active, u.UnitFile
	q := modules.Quote(s.Name)
	if s.NoBlock {
		q = "--no-block " + q
	}
	if s.Masked != nil {
		if *s.Masked && u.UnitFile != "masked" {
			steps, changes = append(steps, "systemctl mask "+q), append(changes, "mask")
		} else if !*s.Masked && u.UnitFile == "masked" {
			steps, changes = append(steps, "systemctl unmask "+q), append(changes, "unmask")
		}
	}
	if s.Enabled != nil {
		enabled := u.UnitFile == "enabled" || u.UnitFile == "enabled-runtime"
		if *s.Enabled && !enabled {
			steps, changes = append(steps, "systemctl enable "+q), append(changes, "enable")
		} else if !*s.Enabled && enabled {
			steps, changes = append(steps, "systemctl disable "+q), append(changes, "disable")
		}
	}
	active := u.Active == "active" || u.Active == "activating" || u.Active == "reloading"
	switch s.State {
	case "started":
		if !active {
			steps, changes = append(steps, "systemctl start "+q), append(changes, "start")
		}
	case "stopped":
		if active {
			steps, changes = append(steps, "systemctl stop "+q), append(changes, "stop")
		}
	case "restarted":
		if s.Sleep > 0 {
			steps = append(steps, "systemctl stop "+q, fmt.Sprintf("sleep %d", s.Sleep), "systemctl start "+q)
		} else {
			steps = append(steps, "systemctl restart "+q)
		}
		changes = append(changes, "restart")
	case "reloaded":
		if active {
			steps, changes = append(steps, "systemctl reload "+q), append(changes, "reload")
		} else {
			steps, changes = append(steps, "systemctl start "+q), append(changes, "start")
		}
	}
	return s.apply(ctx, env, res, steps, changes)
}

func (s *Systemd) apply(ctx context.Context, env *modules.Env, res *modules.Result, steps, changes []string) (*modules.Result, error) {
	if len(steps) == 0 {
		return res, nil
	}
	res.Changed = true
	res.Msg = strings.Join(changes, ", ")
	res.Then(func(ctx context.Context) error {
		script := "set -e\n" + strings.Join(steps, "\n")
		if s.Timeout > 0 {
			script = fmt.Sprintf("timeout %d sh -c %s", s.Timeout, modules.Quote(script))
		}
		r, err := env.Host.Run(ctx, modules.Cmd{Script: script})
		if err != nil {
			return err
		}
		if r.RC == 124 && s.Timeout > 0 {
			u, _ := s.show(ctx, env.Host)
			*res = *modules.Failf("%s %s did not finish within %d s (the unit is %s/%s; systemd goes on with the job)", res.Msg, s.Name, s.Timeout, u.Active, u.Sub)
			return nil
		}
		if r.RC != 0 {
			journal, _ := env.Host.Run(ctx, modules.Cmd{Script: "journalctl -u " + modules.Quote(s.Name) + " -n 15 --no-pager 2>&1 || true"})
			*res = *modules.Failf("%s %s failed: %s\nlast journal lines:\n%s", res.Msg, s.Name, strings.TrimSpace(r.Stderr), strings.TrimSpace(journal.Stdout))
			return nil
		}
		if s.State == "started" || s.State == "restarted" {
			u, err := s.show(ctx, env.Host)
			if err == nil && u.Active == "failed" {
				journal, _ := env.Host.Run(ctx, modules.Cmd{Script: "journalctl -u " + modules.Quote(s.Name) + " -n 15 --no-pager 2>&1 || true"})
				*res = *modules.Failf("%s started but failed:\n%s", s.Name, strings.TrimSpace(journal.Stdout))
				return nil
			}
		}
		return nil
	})
	return res, nil
}

var _ modules.Validator = (*Systemd)(nil)

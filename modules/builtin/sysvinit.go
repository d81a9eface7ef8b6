package builtin

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/runbook-lab/runbook/internal/shellwords"
	"github.com/runbook-lab/runbook/modules"
)

// Sysvinit is Ansible's sysvinit: a service run by its /etc/init.d script,
// started, stopped, restarted or reloaded, and enabled or disabled at boot
// (update-rc.d, else chkconfig). Whether it runs is judged from its status
// output and exit code with Ansible's own rules.
type Sysvinit struct {
	Name      string             `yaml:"name" aliases:"service" required:"true" doc:"the service (its script in /etc/init.d, or a path)"`
	State     string             `yaml:"state" doc:"started, stopped, restarted or reloaded"`
	Enabled   *bool              `yaml:"enabled" doc:"started at boot"`
	Sleep     int                `yaml:"sleep" default:"1" doc:"seconds between stop and start of a restart"`
	Pattern   string             `yaml:"pattern" doc:"a process pattern that says it runs (instead of its status)"`
	Arguments string             `yaml:"arguments" aliases:"args" doc:"extra arguments for the script"`
	Runlevels modules.StringList `yaml:"runlevels" doc:"the runlevels to enable or disable it in"`
	Daemonize bool               `yaml:"daemonize" doc:"accepted for Ansible playbooks: the script runs detached from runbook's session anyway"`
}

func init() {
	modules.Register(modules.Info{ID: "sysvinit", Summary: "A service run by its /etc/init.d script: started, stopped, restarted, reloaded, enabled at boot (Ansible's status rules)",
		Example: "sysvinit:\n  name: pgbouncer\n  state: started\n  enabled: true", New: func() modules.Module { return &Sysvinit{} }})
}

var runlevelRE = regexp.MustCompile(`^[0-6sS]$`)

// Validate checks what Ansible checks.
func (s *Sysvinit) Validate() error {
	if s.State == "" && s.Enabled == nil {
		return fmt.Errorf("sysvinit: one of state or enabled is required")
	}
	switch s.State {
	case "", "started", "stopped", "restarted", "reloaded":
	default:
		return fmt.Errorf("sysvinit: state %q: expected started, stopped, restarted or reloaded", s.State)
	}
	for _, r := range s.Runlevels {
		if !runlevelRE.MatchString(r) {
			return fmt.Errorf("sysvinit: %q is not a runlevel", r)
		}
	}
	return nil
}

func (s *Sysvinit) script() string {
	if strings.HasPrefix(s.Name, "/") {
		return s.Name
	}
	return "/etc/init.d/" + s.Name
}

// running is Ansible's judgement of a status answer.
func (s *Sysvinit) running(ctx context.Context, env *modules.Env) (bool, error) {
	base := s.Name[strings.LastIndex(s.Name, "/")+1:]
	if s.Pattern != "" {
		r, err := env.Host.Run(ctx, modules.Cmd{Script: "pgrep -f -- " + modules.Quote(s.Pattern) + " >/dev/null"})
		return err == nil && r.RC == 0, err
	}
	r, err := env.Host.Run(ctx, modules.Cmd{Script: "if command -v service >/dev/null 2>&1; then service " + modules.Quote(base) + " status; else " + modules.Quote(s.script()) + " status; fi"})
	if err != nil {
		return false, err
	}
	if base == "iptables" && strings.Contains(r.Stdout, "ACCEPT") {
		return true, nil
	}
	if strings.Count(r.Stdout, "\n") <= 1 {
		clean := strings.ReplaceAll(strings.ToLower(r.Stdout), strings.ToLower(base), "")
		for _, w := range []string{"stop", "is dead ", "dead but ", "could not access pid file", "inactive"} {
			if strings.Contains(clean, w) {
				return false, nil
			}
		}
		for _, w := range []string{"run", "start", "active"} {
			if strings.Contains(clean, w) && !strings.Contains(clean, "not ") {
				return true, nil
			}
		}
	}
	switch r.RC {
	case 1, 2, 3, 4, 69:
		return false, nil
	case 0:
		return true, nil
	}
	p, err := env.Host.Run(ctx, modules.Cmd{Script: "pgrep -f -- " + modules.Quote(base) + " >/dev/null"})
	if err == nil && p.RC == 0 {
		env.Warn("Used ps output to match service name and determine it is up, this is very unreliable")
		return true, nil
	}
	return false, err
}

// Run compares and acts.
func (s *Sysvinit) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	if _, err := modules.RunOK(ctx, env.Host, "test -e "+modules.Quote(s.script()), "init script"); err != nil {
		return modules.Failf("could not find the requested service %s: host", s.Name), nil
	}
	base := s.Name[strings.LastIndex(s.Name, "/")+1:]
	res := &modules.Result{Data: map[string]any{"name": s.Name}}
	run := func(script, what string) error {
		res.Changed = true
		res.Then(func(ctx context.Context) error {
			_, err := modules.RunOK(ctx, env.Host, script, what)
			return err
		})
		return nil
	}
	if s.Enabled != nil {
		levels := s.Runlevels
		if len(levels) == 0 {
			levels = []string{"?"}
		}
		differs := false
		for _, rl := range levels {
			r, err := env.Host.Run(ctx, modules.Cmd{Script: "ls /etc/rc" + rl + ".d/S??" + modules.Quote(base) + " >/dev/null 2>&1"})
			if err != nil {
				return nil, err
			}
			differs = differs || (r.RC == 0) != *s.Enabled
		}
		if differs {
			q := modules.Quote(base)
			rl := strings.Join(s.Runlevels, " ")
			var cmd string
			switch {
			case *s.Enabled && rl != "":
				cmd = "update-rc.d " + q + " enable " + rl
			case *s.Enabled:
				cmd = "update-rc.d " + q + " defaults"
			case rl != "":
				cmd = "update-rc.d " + q + " disable " + rl
			default:
				cmd = "update-rc.d " + q + " disable"
			}
			onoff := map[bool]string{true: "on", false: "off"}[*s.Enabled]
			chk := "chkconfig " + q + " " + onoff
			if rl != "" {
				chk = "chkconfig --level " + strings.Join(s.Runlevels, "") + " " + q + " " + onoff
			}
			if err := run("if command -v update-rc.d >/dev/null 2>&1; then "+cmd+"; else "+chk+"; fi", "enabling at boot"); err != nil {
				return nil, err
			}
		}
	}
	if s.State == "" {
		return res, nil
	}
	started, err := s.running(ctx, env)
	if err != nil {
		return nil, err
	}
	args, err := shellwords.Split(s.Arguments)
	if err != nil {
		return modules.Failf("sysvinit: arguments: %v", err), nil
	}
	do := func(verb string) error {
		return run(modules.Join(append([]string{s.script(), verb}, args...)...)+" </dev/null", s.State+" "+s.Name)
	}
	action := strings.TrimSuffix(strings.TrimSuffix(s.State, "ed"), "p")
	switch {
	case action == "restart":
		if err := do("stop"); err != nil {
			return nil, err
		}
		if s.Sleep > 0 {
			res.Then(func(ctx context.Context) error {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(time.Duration(s.Sleep) * time.Second):
					return nil
				}
			})
		}
		err = do("start")
	case started != (action == "start"), started == (action == "stop"):
		err = do(action)
	}
	return res, err
}

var _ modules.Validator = (*Sysvinit)(nil)

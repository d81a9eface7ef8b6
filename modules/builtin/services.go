package builtin

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// ServiceFacts reads the host's systemd units into ansible_facts.services
// (Ansible's service_facts).
type ServiceFacts struct{}

// Timezone sets the host's time zone (Ansible's timezone).
type Timezone struct {
	Name    string `yaml:"name" doc:"the zone, e.g. Europe/Berlin or UTC"`
	HWClock string `yaml:"hwclock" doc:"local or UTC: what the hardware clock keeps"`
}

func init() {
	modules.Register(modules.Info{ID: "service_facts", Summary: "Read the host's services (systemd units) into ansible_facts.services and services.",
		Example: "service_facts: {}", New: func() modules.Module { return &ServiceFacts{} }})
	modules.Register(modules.Info{ID: "timezone", Summary: "Set the host's time zone (timedatectl, or /etc/localtime and /etc/timezone).",
		Example: "timezone:\n  name: UTC", New: func() modules.Module { return &Timezone{} }})
}

// Run lists units and unit files.
func (*ServiceFacts) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	r, err := env.Host.Run(ctx, modules.Cmd{Script: "systemctl list-units --type=service --all --no-legend --no-pager --plain 2>/dev/null; echo '#files'; systemctl list-unit-files --type=service --no-legend --no-pager 2>/dev/null"})
	if err != nil {
		return nil, err
	}
	services := map[string]any{}
	files := false
	for _, l := range strings.Split(r.Stdout, "\n") {
		f := strings.Fields(l)
		if l == "#files" {
			files = true
			continue
		}
		if len(f) < 2 {
			continue
		}
		name := strings.TrimPrefix(f[0], "●")
		if name == "" && len(f) > 1 {
			f = f[1:]
			name = f[0]
		}
		if files {
			s, ok := services[name].(map[string]any)
			if !ok {
				s = map[string]any{"name": name, "state": "stopped", "source": "systemd"}
				services[name] = s
			}
			s["status"] = f[1]
			continue
		}
		if len(f) < 4 {
			continue
		}
		state := "stopped"
		switch f[3] {
		case "running":
			state = "running"
		case "dead", "exited":
			state = "stopped"
		default:
			state = f[3]
		}
		if f[1] == "not-found" {
			services[name] = map[string]any{"name": name, "state": state, "status": "not-found", "source": "systemd"}
			continue
		}
		services[name] = map[string]any{"name": name, "state": state, "status": "unknown", "source": "systemd"}
	}
	return &modules.Result{Facts: map[string]any{"services": services, "ansible_facts": map[string]any{"services": services}}}, nil
}

var zoneRE = regexp.MustCompile(`^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$`)

// Validate checks the zone's spelling.
func (t *Timezone) Validate() error {
	if t.Name != "" && !zoneRE.MatchString(t.Name) {
		return fmt.Errorf("timezone: %q is not a zone name", t.Name)
	}
	if t.HWClock != "" && t.HWClock != "local" && t.HWClock != "UTC" && t.HWClock != "utc" {
		return fmt.Errorf("timezone: hwclock must be local or UTC, got %q", t.HWClock)
	}
	return nil
}

// Run sets the zone when it differs.
func (t *Timezone) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	if t.Name == "" {
		return &modules.Result{}, nil
	}
	r, err := modules.RunOK(ctx, env.Host, "cat /etc/timezone 2>/dev/null || readlink /etc/localtime | sed 's|.*/zoneinfo/||'", "read the time zone")
	if err != nil {
		return nil, err
	}
	cur := strings.TrimSpace(strings.Split(r.Stdout, "\n")[0])
	res := &modules.Result{Data: map[string]any{"name": t.Name}}
	if cur == t.Name {
		return res, nil
	}
	res.Changed = true
	if env.Diff {
		res.Diffs = []modules.Diff{{Path: "timezone", Before: cur + "\n", After: t.Name + "\n"}}
	}
	if env.Check {
		return res, nil
	}
	q := modules.Quote(t.Name)
	script := "[ -f /usr/share/zoneinfo/" + q + " ] || { echo 'no such time zone: '" + q + " >&2; exit 1; }\n" +
		"if command -v timedatectl >/dev/null && timedatectl set-timezone " + q + " 2>/dev/null; then :; else ln -sf /usr/share/zoneinfo/" + q + " /etc/localtime; fi\n" +
		"[ -f /etc/timezone ] && echo " + q + " > /etc/timezone || true"
	_, err = modules.RunOK(ctx, env.Host, script, "timezone")
	return res, err
}

var _ modules.Validator = (*Timezone)(nil)

package builtin

import (
	"context"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "service_facts", Summary: "Read the host's services (systemd units) into ansible_facts.services and services.",
		Example: "service_facts: {}", New: func() modules.Module { return &ServiceFacts{} }})
}

// ServiceFacts reads the host's systemd units into ansible_facts.services
// (Ansible's service_facts).
type ServiceFacts struct{}

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

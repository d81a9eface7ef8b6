package builtin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// SEPort gives network ports an SELinux type (community.general's seport,
// through the host's semanage).
type SEPort struct {
	Ports              modules.StringList `yaml:"ports" doc:"ports or ranges (8080, 8000-8010); commas allowed"`
	Proto              string             `yaml:"proto" doc:"tcp or udp"`
	SEType             string             `yaml:"setype" doc:"the SELinux type (http_port_t)"`
	State              string             `yaml:"state" doc:"present or absent" default:"present"`
	Reload             *bool              `yaml:"reload" doc:"reload the policy after the change" default:"true"`
	IgnoreSELinuxState bool               `yaml:"ignore_selinux_state" doc:"run even where SELinux is disabled"`
	Local              bool               `yaml:"local" doc:"only the local changes count as already there (semanage -C)"`
}

func init() {
	modules.Register(modules.Info{ID: "seport", Summary: "Give network ports an SELinux type (semanage port), where SELinux is on.",
		Example: "seport:\n  ports: 9100\n  proto: tcp\n  setype: http_port_t", New: func() modules.Module { return &SEPort{} }})
}

// Validate checks the arguments.
func (s *SEPort) Validate() error {
	if len(s.ports()) == 0 || s.SEType == "" {
		return errors.New("seport: ports and setype are required")
	}
	if s.Proto != "tcp" && s.Proto != "udp" {
		return fmt.Errorf("seport: proto must be tcp or udp, got %q", s.Proto)
	}
	if s.State != "present" && s.State != "absent" {
		return fmt.Errorf("seport: state must be present or absent, got %q", s.State)
	}
	for _, p := range s.ports() {
		lo, hi, ok := strings.Cut(p, "-")
		if !ok {
			hi = lo
		}
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || a < 1 || b > 65535 || b < a {
			return fmt.Errorf("seport: %q is not a port or a range of ports", p)
		}
	}
	return nil
}

func (s *SEPort) ports() []string { return s.Ports.Items() }

// SEPortTypes reads `semanage port -l`: for each "TYPE PROTO ports", the
// ports and ranges as written ("80", "8000-8010") keyed by type and proto.
func SEPortTypes(listing string) map[[2]string]map[string]bool {
	out := map[[2]string]map[string]bool{}
	for _, line := range strings.Split(listing, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || (f[1] != "tcp" && f[1] != "udp" && f[1] != "sctp" && f[1] != "dccp") {
			continue // the header, blank lines
		}
		k := [2]string{f[0], f[1]}
		if out[k] == nil {
			out[k] = map[string]bool{}
		}
		for _, p := range strings.Split(strings.Join(f[2:], ""), ",") {
			out[k][p] = true
		}
	}
	return out
}

// Run adds (or modifies) or deletes the definitions that differ.
func (s *SEPort) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	st, err := env.Host.Run(ctx, modules.Cmd{Script: "command -v getenforce >/dev/null && getenforce || echo Disabled"})
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(st.Stdout) == "Disabled" && !s.IgnoreSELinuxState {
		return modules.Failf("seport: SELinux is disabled on %s (ignore_selinux_state: true runs it anyway)", env.Host.Name()), nil
	}
	list := "semanage port -l"
	if s.Local {
		list += " -C"
	}
	r, err := modules.RunOK(ctx, env.Host, list, "semanage port -l")
	if err != nil {
		return modules.Failf("seport: %v", err), nil
	}
	types := SEPortTypes(r.Stdout)
	mine := types[[2]string{s.SEType, s.Proto}]
	var script []string
	noReload := ""
	if s.Reload != nil && !*s.Reload {
		noReload = " -N"
	}
	for _, p := range s.ports() {
		switch {
		case s.State == "present" && !mine[p]:
			op := "-a"
			for k, ps := range types {
				if k[1] == s.Proto && ps[p] {
					op = "-m" // defined with another type: modified, as Ansible does
				}
			}
			script = append(script, "semanage port"+noReload+" "+op+" -t "+modules.Quote(s.SEType)+" -p "+s.Proto+" "+modules.Quote(p))
		case s.State == "absent" && mine[p]:
			script = append(script, "semanage port"+noReload+" -d -p "+s.Proto+" "+modules.Quote(p))
		}
	}
	res := &modules.Result{Data: map[string]any{"ports": s.ports(), "proto": s.Proto, "setype": s.SEType, "state": s.State}}
	if len(script) == 0 {
		return res, nil
	}
	res.Changed = true
	res.Then(func(ctx context.Context) error {
		if _, err := modules.RunOK(ctx, env.Host, strings.Join(script, " && "), "semanage port"); err != nil {
			*res = *modules.Failf("seport: %v", err)
		}
		return nil
	})
	return res, nil
}

var _ modules.Validator = (*SEPort)(nil)

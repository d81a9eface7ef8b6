package runner

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/runbook-lab/runbook/hostexec"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/templates"
)

// The environment: keyword: values rendered per host and exported before
// every command of the task.

// renderEnv renders environment: values for one host; a templated
// environment: names a mapping of them.
func renderEnv(env map[string]string, exprs []string, vars map[string]any) (map[string]string, error) {
	out := make(map[string]string, len(env))
	for _, e := range exprs {
		v, ok, err := templates.Native(e, vars)
		if err != nil {
			return nil, err
		}
		m, isMap := v.(map[string]any)
		if !ok || !isMap {
			return nil, fmt.Errorf("%s: expected a mapping of NAME: value", e)
		}
		for k, x := range m {
			if !envVarName.MatchString(k) {
				return nil, fmt.Errorf("%q is not a variable name", k)
			}
			out[k] = fmt.Sprint(x)
		}
	}
	for k, v := range env {
		s, err := templates.Render("environment", v, vars)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = s
	}
	return out, nil
}

var envVarName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// envHost exports environment: variables before every command; the
// host's other abilities (sockets, forwarded TCP, being this machine)
// stay as they are.
type envHost struct {
	modules.Host
	hostexec.Forward
	prefix string
}

func withEnv(h modules.Host, vals map[string]string) modules.Host {
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString("export " + k + "=" + modules.Quote(vals[k]) + "\n")
	}
	return &envHost{Host: h, Forward: hostexec.Forward{Inner: h}, prefix: b.String()}
}

func (e *envHost) Run(ctx context.Context, c modules.Cmd) (modules.CmdResult, error) {
	c.Script = e.prefix + c.Script
	return e.Host.Run(ctx, c)
}

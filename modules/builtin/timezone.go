package builtin

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "timezone", Summary: "Set the host's time zone (timedatectl, or /etc/localtime and /etc/timezone).",
		Example: "timezone:\n  name: UTC", New: func() modules.Module { return &Timezone{} }})
}

// Timezone sets the host's time zone (Ansible's timezone).
type Timezone struct {
	Name    string `yaml:"name" doc:"the zone, e.g. Europe/Berlin or UTC"`
	HWClock string `yaml:"hwclock" doc:"local or UTC: what the hardware clock keeps"`
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
	res.Then(func(ctx context.Context) error {
		q := modules.Quote(t.Name)
		script := "[ -f /usr/share/zoneinfo/" + q + " ] || { echo 'no such time zone: '" + q + " >&2; exit 1; }\n" +
			"if command -v timedatectl >/dev/null && timedatectl set-timezone " + q + " 2>/dev/null; then :; else ln -sf /usr/share/zoneinfo/" + q + " /etc/localtime; fi\n" +
			"[ -f /etc/timezone ] && echo " + q + " > /etc/timezone || true"
		_, err = modules.RunOK(ctx, env.Host, script, "timezone")
		return err
	})
	return res, nil
}

var _ modules.Validator = (*Timezone)(nil)

package builtin

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// Capabilities grants or takes a Linux file capability (community.general's
// capabilities: setcap and getcap on the host).
type Capabilities struct {
	Path       string `yaml:"path" aliases:"key" doc:"the file"`
	Capability string `yaml:"capability" aliases:"cap" doc:"the capability with its operator and flags (cap_net_bind_service+ep); with state absent the name alone"`
	State      string `yaml:"state" doc:"present or absent" default:"present"`
}

func init() {
	modules.Register(modules.Info{ID: "capabilities", Summary: "Grant or take a Linux file capability (setcap), leaving the file's others as they are.",
		Example: "capabilities:\n  path: /usr/bin/node_exporter\n  capability: cap_net_raw+ep", New: func() modules.Module { return &Capabilities{} }})
}

// fileCap is one capability of a file: its name, operator (= + -) and flags.
type fileCap struct{ name, op, flags string }

// parseCap reads "cap_x+ep"; without an operator, only the name.
func parseCap(s string) fileCap {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexAny(s, "=+-"); i >= 0 {
		return fileCap{s[:i], s[i : i+1], s[i+1:]}
	}
	return fileCap{name: s}
}

// same: the flags a file ends up with, whichever operator wrote them
// (setcap's cap+ep reads back from getcap as cap=ep).
func (c fileCap) same(o fileCap) bool {
	sorted := func(f string) string {
		b := []byte(f)
		sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
		return string(b)
	}
	return c.name == o.name && sorted(c.flags) == sorted(o.flags) && (c.op == o.op || c.op != "-" && o.op != "-")
}

// ParseGetcap reads getcap -v's line for path: "path cap_a,cap_b=ep cap_c+i"
// (older libcap: "path = cap_a+ep"); a file without capabilities prints its
// path alone.
func ParseGetcap(out, path string) []fileCap {
	out = strings.TrimSpace(out)
	rest := strings.TrimSpace(strings.TrimPrefix(out, path))
	rest = strings.TrimSpace(strings.TrimPrefix(rest, "="))
	var caps []fileCap
	for _, group := range strings.Fields(rest) {
		names := strings.Split(group, ",")
		last := parseCap(names[len(names)-1])
		for _, n := range names[:len(names)-1] {
			caps = append(caps, fileCap{strings.ToLower(n), last.op, last.flags})
		}
		caps = append(caps, last)
	}
	return caps
}

// Validate checks the arguments.
func (c *Capabilities) Validate() error {
	if c.Path == "" || c.Capability == "" {
		return errors.New("capabilities: path and capability are required")
	}
	switch c.State {
	case "present":
		if parseCap(c.Capability).op == "" {
			return fmt.Errorf("capabilities: %q: give an operator and flags (cap_net_raw+ep)", c.Capability)
		}
	case "absent":
	default:
		return fmt.Errorf("capabilities: state must be present or absent, got %q", c.State)
	}
	return nil
}

// Run reads the file's capabilities and sets the new list when it differs.
func (c *Capabilities) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	r, err := env.Host.Run(ctx, modules.Cmd{Script: "getcap -v -- " + modules.Quote(c.Path)})
	if err != nil {
		return nil, err
	}
	if r.RC != 0 || strings.Contains(r.Stdout+r.Stderr, "(No such file") {
		return modules.Failf("capabilities: cannot read %s's capabilities: %s", c.Path, strings.TrimSpace(r.Stderr+r.Stdout)), nil
	}
	current := ParseGetcap(r.Stdout, c.Path)
	want := parseCap(c.Capability)
	var kept []fileCap
	found := false
	for _, cur := range current {
		if cur.name != want.name {
			kept = append(kept, cur)
			continue
		}
		found = found || c.State == "absent" || cur.same(want)
	}
	switch {
	case c.State == "present" && found, c.State == "absent" && !found:
		return &modules.Result{Data: map[string]any{"state": c.State}}, nil
	case c.State == "present":
		kept = append(kept, want)
	}
	res := &modules.Result{Changed: true, Msg: "capabilities changed", Data: map[string]any{"state": c.State}}
	res.Then(func(ctx context.Context) error {
		script := "setcap -r " + modules.Quote(notOption(c.Path))
		if len(kept) > 0 {
			var parts []string
			for _, k := range kept {
				parts = append(parts, k.name+k.op+k.flags)
			}
			script = "setcap " + modules.Quote(strings.Join(parts, " ")) + " " + modules.Quote(notOption(c.Path))
		}
		if _, err := modules.RunOK(ctx, env.Host, script, "setcap"); err != nil {
			*res = *modules.Failf("capabilities: %v", err)
		}
		return nil
	})
	return res, nil
}

// notOption: a relative path that starts with "-" as ./-name (setcap takes
// no "--").
func notOption(p string) string {
	if strings.HasPrefix(p, "-") {
		return "./" + p
	}
	return p
}

var _ modules.Validator = (*Capabilities)(nil)

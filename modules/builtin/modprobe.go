package builtin

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/runbook-lab/runbook/internal/shellwords"
	"github.com/runbook-lab/runbook/modules"
)

// Modprobe loads or unloads a kernel module, and optionally makes that
// last across reboots (community.general's modprobe).
type Modprobe struct {
	Name       string `yaml:"name" doc:"the kernel module"`
	State      string `yaml:"state" doc:"present (loaded) or absent (unloaded)" default:"present"`
	Params     string `yaml:"params" doc:"module parameters (a=1 b=2)"`
	Persistent string `yaml:"persistent" doc:"present: loaded at boot (/etc/modules-load.d, /etc/modprobe.d), absent: not, disabled: leave those files alone" default:"disabled"`
}

func init() {
	modules.Register(modules.Info{ID: "modprobe", Summary: "Load or unload a kernel module, optionally at every boot too (modules-load.d, modprobe.d).",
		Example: "modprobe:\n  name: br_netfilter\n  persistent: present", New: func() modules.Module { return &Modprobe{} }})
}

var kernelModuleName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Validate checks the arguments.
func (m *Modprobe) Validate() error {
	if !kernelModuleName.MatchString(m.Name) {
		return fmt.Errorf("modprobe: name %q is not a kernel module name", m.Name)
	}
	if m.State != "present" && m.State != "absent" {
		return fmt.Errorf("modprobe: state must be present or absent, got %q", m.State)
	}
	switch m.Persistent {
	case "disabled", "present", "absent":
	default:
		return fmt.Errorf("modprobe: persistent must be disabled, present or absent, got %q", m.Persistent)
	}
	if _, err := shellwords.Split(m.Params); err != nil {
		return fmt.Errorf("modprobe: params: %v", err)
	}
	return nil
}

// Script is the whole change on the host (pure, for tests): whether the
// module is loaded (/proc/modules, or built into the kernel), loading or
// unloading it, then the boot files. It prints "changed" for each change.
func (m *Modprobe) Script(check bool) string {
	params, _ := shellwords.Split(m.Params)
	n := modules.Quote(m.Name)
	var b strings.Builder
	fmt.Fprintf(&b, "set -e\nname=%s\nmods=${RUNBOOK_PROC_MODULES:-/proc/modules}\n", n)
	b.WriteString(`loaded() { grep -q "^$(printf %s "$name" | tr - _) " "$mods" 2>/dev/null || grep -q "/$name.ko" "/lib/modules/$(uname -r)/modules.builtin" 2>/dev/null; }` + "\n")
	dry := ""
	if check {
		dry = " -n"
	}
	if m.State == "present" {
		fmt.Fprintf(&b, "if ! loaded; then modprobe%s -- \"$name\" %s; echo changed; fi\n", dry, modules.Join(params...))
	} else {
		fmt.Fprintf(&b, "if loaded; then modprobe%s -r -- \"$name\"; echo changed; fi\n", dry)
	}
	if m.Persistent == "disabled" {
		return b.String()
	}
	load := "${RUNBOOK_ETC:-/etc}/modules-load.d"
	opts := "${RUNBOOK_ETC:-/etc}/modprobe.d"
	fmt.Fprintf(&b, "load=%s\nopts=%s\n", load, opts)
	// write runs its commands only outside the plan: the plan reads the
	// same files and says what would change
	if check {
		b.WriteString("write() { :; }\n")
	} else {
		b.WriteString("write() { \"$@\"; }\nmkdir -p \"$load\" \"$opts\"\n")
	}
	if m.Persistent == "present" {
		b.WriteString(`grep -qx "$name" "$load"/* 2>/dev/null || { write sh -c 'printf "%s\n" "$1" > "$2/$1.conf"' sh "$name" "$load"; echo changed; }` + "\n")
		want := ""
		for _, p := range params {
			want += "options " + m.Name + " " + p + "\n"
		}
		fmt.Fprintf(&b, "want=%s\n", modules.Quote(want))
		// the options lines now in force, in any file, against those wanted
		b.WriteString(`have=$(grep -h "^options $name " "$opts"/* 2>/dev/null | sort || true)` + "\n")
		b.WriteString(`if [ "$have" != "$(printf %s "$want" | sort)" ]; then
  for f in "$opts"/*; do [ -f "$f" ] && write sed -i "s/^options $name /#&/" "$f"; done
  [ -z "$want" ] || write sh -c 'printf %s "$1" > "$2"' sh "$want" "$opts/$name.conf"
  echo changed
fi
`)
	} else {
		b.WriteString(`for f in "$load"/*; do [ -f "$f" ] && grep -qx "$name" "$f" && { write sed -i "s/^$name\$/#&/" "$f"; echo changed; }; done; true` + "\n")
		b.WriteString(`for f in "$opts"/*; do [ -f "$f" ] && grep -q "^options $name " "$f" && { write sed -i "s/^options $name /#&/" "$f"; echo changed; }; done; true` + "\n")
	}
	return b.String()
}

// Run plans with the script's read-only form (modprobe -n, the boot files
// read); Apply runs it for real.
func (m *Modprobe) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	res, err := m.run(ctx, env, true)
	if err != nil || res.Failed || !res.Changed {
		return res, err
	}
	res.Apply = func(ctx context.Context) error {
		r, err := m.run(ctx, env, false)
		if err == nil {
			*res = *r
		}
		return err
	}
	return res, nil
}

func (m *Modprobe) run(ctx context.Context, env *modules.Env, plan bool) (*modules.Result, error) {
	r, err := env.Host.Run(ctx, modules.Cmd{Script: m.Script(plan)})
	if err != nil {
		return nil, err
	}
	if r.RC != 0 {
		return modules.Failf("modprobe %s: %s", m.Name, strings.TrimSpace(r.Stderr)), nil
	}
	return &modules.Result{Changed: strings.Contains(r.Stdout, "changed"), Data: map[string]any{"name": m.Name, "params": m.Params, "state": m.State}}, nil
}

var _ modules.Validator = (*Modprobe)(nil)

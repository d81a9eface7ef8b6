package modules

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/runbook-lab/runbook/internal/pyansible"
)

// Python runs a module runbook has no Go code for the way Ansible runs
// it: a role's library/ module, an installed collection's, ansible-core's
// own. The module and the module_utils of this machine's Ansible go to a
// private temporary folder on the host as one zip, its arguments as a
// file beside it (never in a command line), python3 runs it, and its JSON
// answer is the result. Check mode is the module's own
// (supports_check_mode).
type Python struct {
	Src  pyansible.Source
	args map[string]any
}

// SetRaw takes the arguments as written: the module checks them itself.
func (p *Python) SetRaw(args map[string]any) error {
	p.args = args
	return nil
}

// Run packs, uploads and runs the module.
func (p *Python) Run(ctx context.Context, env *Env) (*Result, error) {
	if p.Src.Script {
		return p.runScript(ctx, env)
	}
	payload, err := pyansible.Payload(p.Src)
	if err != nil {
		return Failf("%s: %v", p.Src.Name, err), nil
	}
	// the folder's name is only known on the host: the arguments name it
	// by a placeholder the shell replaces before python reads the file
	const placeholder = "@RUNBOOK_TMPDIR@"
	args, err := pyansible.Args(p.Src, p.args, env.Check, true, placeholder)
	if err != nil {
		return nil, err
	}
	python := "python3"
	if v, ok := env.Vars["ansible_python_interpreter"].(string); ok && v != "" && !strings.Contains(v, "{") {
		python = Quote(v)
	}
	// stdin: the arguments (exactly their length, read with dd), then the zip
	script := fmt.Sprintf(`d=$(mktemp -d) || exit 1
trap 'rm -rf "$d"' EXIT
dd bs=1 count=%d of="$d/args" 2>/dev/null && cat > "$d/module.zip" || exit 1
sed -i "s|%s|$d|g" "$d/args"
cd "$d" && %s "$d/module.zip" "$d/args"
`, len(args), placeholder, python)
	r, err := env.Host.Run(ctx, Cmd{Script: script, Stdin: append(args, payload...), Secret: true})
	if err != nil {
		return nil, err
	}
	return p.result(env, r)
}

// runScript runs a library/ module that is not Python: the file itself,
// made executable in the private folder, its arguments file as $1.
func (p *Python) runScript(ctx context.Context, env *Env) (*Result, error) {
	body, err := os.ReadFile(p.Src.File)
	if err != nil {
		return Failf("%s: %v", p.Src.Name, err), nil
	}
	args, err := pyansible.ScriptArgs(p.Src, p.args, env.Check)
	if err != nil {
		return nil, err
	}
	script := fmt.Sprintf(`d=$(mktemp -d) || exit 1
trap 'rm -rf "$d"' EXIT
dd bs=1 count=%d of="$d/args" 2>/dev/null && cat > "$d/module" && chmod 0700 "$d/module" || exit 1
cd "$d" && "$d/module" "$d/args"
`, len(args))
	r, err := env.Host.Run(ctx, Cmd{Script: script, Stdin: append(args, body...), Secret: true})
	if err != nil {
		return nil, err
	}
	return p.result(env, r)
}

// result reads the module's JSON answer.
func (p *Python) result(env *Env, r CmdResult) (*Result, error) {
	out, ok := pyansible.Result(r.Stdout)
	if !ok {
		msg := strings.TrimSpace(r.Stderr)
		if msg == "" {
			msg = strings.TrimSpace(r.Stdout)
		}
		return Failf("%s: the module gave no result (exit %d): %s", p.Src.Name, r.RC, msg), nil
	}
	res := &Result{Data: map[string]any{}}
	for k, v := range out {
		switch k {
		case "changed":
			res.Changed = v == true
		case "failed":
			res.Failed = v == true
		case "skipped":
			res.Skipped = v == true
		case "msg":
			res.Msg = fmt.Sprint(v)
		case "ansible_facts":
			if f, ok := v.(map[string]any); ok {
				res.Facts = f
			}
		case "diff":
			res.Diffs = pythonDiffs(p.Src.Name, v)
		case "invocation", "_ansible_no_log":
		default:
			res.Data[k] = v
		}
	}
	if r.RC != 0 && !res.Failed {
		res.Failed = true
	}
	if warnings, ok := out["warnings"].([]any); ok && env.Warn != nil {
		for _, w := range warnings {
			env.Warn("%v", w)
		}
	}
	return res, nil
}

// pythonDiffs reads Ansible's diff (one or a list of before/after pairs).
func pythonDiffs(name string, v any) []Diff {
	var list []any
	switch d := v.(type) {
	case []any:
		list = d
	case map[string]any:
		list = []any{d}
	}
	var out []Diff
	for _, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			continue
		}
		d := Diff{Path: name}
		if h, ok := m["after_header"].(string); ok {
			d.Path = h
		}
		if b, ok := m["before"].(string); ok {
			d.Before = b
		}
		if a, ok := m["after"].(string); ok {
			d.After = a
		}
		out = append(out, d)
	}
	return out
}

var _ RawArgs = (*Python)(nil)

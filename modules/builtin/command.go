package builtin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/runbook-lab/runbook/internal/shellwords"
	"github.com/runbook-lab/runbook/modules"
)

// Command runs a program with arguments, without a shell: no pipes,
// redirections or variables, so nothing in its arguments is interpreted.
type Command struct {
	Cmd     string             `yaml:"cmd" doc:"the command line, split into words like a shell would (quotes group), but not run by a shell"`
	Argv    modules.StringList `yaml:"argv" doc:"the program and its arguments as a list (instead of cmd)"`
	Chdir   string             `yaml:"chdir" doc:"directory to run in"`
	Creates string             `yaml:"creates" doc:"skip when this path exists"`
	Removes string             `yaml:"removes" doc:"skip unless this path exists"`
	Stdin   string             `yaml:"stdin" doc:"text given on standard input"`
	StdinNL *bool              `yaml:"stdin_add_newline" doc:"end stdin with a newline" default:"true"`
}

func init() {
	modules.Register(modules.Info{ID: "command", Summary: "Run a program on the host (no shell); reports changed unless changed_when says otherwise.",
		Example: "command: pg_lsclusters\nregister: clusters\nchanged_when: false", New: func() modules.Module { return &Command{} }})
}

// FreeFormArg: `command: pg_ctl status` sets cmd.
func (*Command) FreeFormArg() string { return "cmd" }

// Validate needs exactly one of cmd and argv.
func (c *Command) Validate() error {
	if (c.Cmd == "") == (len(c.Argv) == 0) {
		return errors.New("command: give exactly one of cmd and argv")
	}
	return nil
}

// Run runs the command.
func (c *Command) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	argv := []string(c.Argv)
	if c.Cmd != "" {
		words, err := SplitWords(c.Cmd)
		if err != nil {
			return nil, err
		}
		argv = words
	}
	stdin := c.Stdin
	if stdin != "" && (c.StdinNL == nil || *c.StdinNL) && !strings.HasSuffix(stdin, "\n") {
		stdin += "\n" // Ansible's stdin_add_newline
	}
	return runScript(ctx, env, modules.Join(argv...), c.Chdir, c.Creates, c.Removes, stdin)
}

// alreadyDone answers creates and removes: the result of a command that
// need not run (creates exists, removes does not), or nil.
func alreadyDone(ctx context.Context, host modules.Host, creates, removes string) (*modules.Result, error) {
	if creates == "" && removes == "" {
		return nil, nil
	}
	var checks []string
	if creates != "" {
		checks = append(checks, "[ -e "+modules.Quote(creates)+" ] && echo creates")
	}
	if removes != "" {
		checks = append(checks, "[ -e "+modules.Quote(removes)+" ] || echo removes")
	}
	r, err := host.Run(ctx, modules.Cmd{Script: strings.Join(checks, "; ") + "; true"})
	if err != nil {
		return nil, err
	}
	if out := strings.TrimSpace(r.Stdout); out != "" {
		return &modules.Result{Msg: "skipped: " + map[string]string{"creates": creates + " exists", "removes": removes + " does not exist"}[strings.Fields(out)[0]],
			Data: map[string]any{"rc": 0, "stdout": "", "stderr": "", "stdout_lines": []any{}, "stderr_lines": []any{}}}, nil
	}
	return nil, nil
}

// runScript plans a shell script: run unless creates/removes say it is
// done; its effect is known only once it has run.
func runScript(ctx context.Context, env *modules.Env, script, chdir, creates, removes, stdin string) (*modules.Result, error) {
	if done, err := alreadyDone(ctx, env.Host, creates, removes); done != nil || err != nil {
		return done, err
	}
	if chdir != "" {
		script = "cd " + modules.Quote(chdir) + " || exit 1\n" + script
	}
	var in []byte
	if stdin != "" {
		in = []byte(stdin)
	}
	res := &modules.Result{Changed: true, Unplanned: true}
	res.Then(func(ctx context.Context) error {
		r, err := env.Host.Run(ctx, modules.Cmd{Script: script, Stdin: in})
		if err != nil {
			return err
		}
		res.Data = modules.CmdData(r)
		if r.RC != 0 {
			res.Failed = true
			res.Msg = "non-zero return code " + strconv.Itoa(r.RC)
			if e := strings.TrimSpace(r.Stderr); e != "" {
				res.Msg += ": " + modules.LastLines(e, 5)
			}
		}
		return nil
	})
	return res, nil
}

// SplitWords splits a command line into words like a shell (quotes group,
// backslash escapes), without expanding anything.
func SplitWords(s string) ([]string, error) {
	words, err := shellwords.Split(s)
	if err != nil {
		return nil, fmt.Errorf("%v in command", err)
	}
	if len(words) == 0 {
		return nil, errors.New("empty command")
	}
	return words, nil
}

var (
	_ modules.Validator = (*Command)(nil)
	_ modules.FreeForm  = (*Command)(nil)
)

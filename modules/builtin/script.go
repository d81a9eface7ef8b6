package builtin

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/runbook-lab/runbook/internal/inputfile"
	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "script", Summary: "Copy a local script to the host (a private temporary folder) and run it with its arguments.",
		Example: "script: files/setup.sh --fast", New: func() modules.Module { return &Script{} }})
}

// Script copies a local script to the host and runs it there.
type Script struct {
	Cmd        string `yaml:"cmd" doc:"the script (a file on the machine running runbook, found in the role's files/ first) and its arguments"`
	Chdir      string `yaml:"chdir" doc:"directory to run in"`
	Creates    string `yaml:"creates" doc:"skip when this path exists"`
	Removes    string `yaml:"removes" doc:"skip unless this path exists"`
	Executable string `yaml:"executable" doc:"the interpreter (default: the script's #! line)"`
}

// FreeFormArg: `script: file.sh args`.
func (*Script) FreeFormArg() string { return "cmd" }

// Validate needs a script.
func (s *Script) Validate() error {
	if strings.TrimSpace(s.Cmd) == "" {
		return errors.New("script: the script is required")
	}
	_, err := SplitWords(s.Cmd)
	return err
}

// Run uploads the script into a private folder, runs it, removes it.
func (s *Script) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	words, err := SplitWords(s.Cmd)
	if err != nil {
		return nil, err
	}
	body, err := inputfile.Read(modules.FindLocal(env, words[0], "files"))
	if err != nil {
		return modules.Failf("script: %v", err), nil
	}
	run := `"$d/script"`
	if s.Executable != "" {
		run = modules.Quote(s.Executable) + " " + run
	}
	script := "d=$(mktemp -d) || exit 1\ntrap 'rm -rf \"$d\"' EXIT\ncat > \"$d/script\" && chmod 0700 \"$d/script\" || exit 1\n" +
		run + " " + modules.Join(words[1:]...) + " </dev/null"
	// creates/removes as command's
	if done, err := alreadyDone(ctx, discardStdin{env.Host}, s.Creates, s.Removes); done != nil || err != nil {
		return done, err
	}
	if s.Chdir != "" {
		script = "cd " + modules.Quote(s.Chdir) + " || exit 1\n" + script
	}
	res := &modules.Result{Changed: true, Unplanned: true}
	res.Then(func(ctx context.Context) error {
		r, err := env.Host.Run(ctx, modules.Cmd{Script: script, Stdin: body})
		if err != nil {
			return err
		}
		res.Data = modules.CmdData(r)
		if r.RC != 0 {
			res.Failed, res.Msg = true, "non-zero return code "+strconv.Itoa(r.RC)
		}
		return nil
	})
	return res, nil
}

// discardStdin is a host wrapper for the creates/removes probe.
type discardStdin struct{ modules.Host }

var _ modules.FreeForm = (*Script)(nil)

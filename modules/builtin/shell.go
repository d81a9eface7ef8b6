package builtin

import (
	"context"
	"errors"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "shell", Summary: "Run a command line through /bin/sh on the host (pipes, redirections, variables).",
		Example: "shell: df -h / | tail -1\nchanged_when: false", New: func() modules.Module { return &Shell{} }})
}

// Shell runs a command line through /bin/sh, with pipes and variables.
type Shell struct {
	Cmd        string `yaml:"cmd" doc:"the shell command line"`
	Chdir      string `yaml:"chdir" doc:"directory to run in"`
	Creates    string `yaml:"creates" doc:"skip when this path exists"`
	Removes    string `yaml:"removes" doc:"skip unless this path exists"`
	Stdin      string `yaml:"stdin" doc:"text given on standard input"`
	Executable string `yaml:"executable" doc:"the shell to run the line with (e.g. /bin/bash; default /bin/sh)"`
	StdinNL    *bool  `yaml:"stdin_add_newline" doc:"end stdin with a newline" default:"true"`
}

// FreeFormArg: `shell: a | b` sets cmd.
func (*Shell) FreeFormArg() string { return "cmd" }

// Validate needs cmd.
func (s *Shell) Validate() error {
	if s.Cmd == "" {
		return errors.New("shell: cmd is required")
	}
	return nil
}

// Run runs the command line.
func (s *Shell) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	script, stdin := s.Cmd, s.Stdin
	if s.Executable != "" {
		if strings.ContainsAny(s.Executable, " \t\n;&|$`'\"") {
			return modules.Failf("shell: executable %q is a path, not a command line", s.Executable), nil
		}
		script = s.Executable + " -c " + modules.Quote(script)
	}
	if stdin != "" && (s.StdinNL == nil || *s.StdinNL) && !strings.HasSuffix(stdin, "\n") {
		stdin += "\n"
	}
	return runScript(ctx, env, script, s.Chdir, s.Creates, s.Removes, stdin)
}

var _ modules.Validator = (*Shell)(nil)

var _ modules.FreeForm = (*Shell)(nil)

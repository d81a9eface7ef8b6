// Package cli is runbook's command line: a fresh cobra tree per call, so the
// entry point is re-entrant (tests call Main directly).
package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/runbook-lab/runbook/internal/vault"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X ...cli.Version=...".
var Version = "dev"

// exitError carries an exit code (2 host failed, 4 unreachable).
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

type coder interface {
	error
	Code() int
}

// Main runs the command line and returns the process exit code: 0 all ok,
// 1 bad input or internal error, 2 a host failed, 4 a host unreachable.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := app.root()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return exitCode(root.ExecuteContext(ctx), stderr)
}

// exitCode is a command's exit code; an error that carries no code is
// printed to stderr.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(stderr, "ERROR:", err)
	if errors.Is(err, context.Canceled) {
		return 130
	}
	var c coder
	if errors.As(err, &c) {
		return c.Code()
	}
	return 1
}

type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	stdinLines     *bufio.Reader  // secrets read from piped stdin, one line each
	vault          *vault.Keyring // this command's vault secrets (nil: none given)
}

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "runbook",
		Short: "An Ansible-like task runner with the PostgreSQL HA lab built in",
		Long: `runbook runs playbooks (Ansible's language, Go templates) on hosts over SSH.
Its own playbooks are embedded: "runbook list" shows them, "runbook play site.yaml"
builds the PostgreSQL high-availability lab from nothing.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.Version = versionString()
	root.SetVersionTemplate("runbook {{.Version}}\n")
	root.AddCommand(a.playCmd(), a.verifyCmd(), a.statusCmd(), a.runCmd(), a.listCmd(), a.showCmd(), a.docCmd(), a.inventoryCmd(), a.versionCmd(), a.convertCmd(), a.drillsCmd(), a.vaultCmd())
	return root
}

// versionString is the build's version and, from the Go build info, its
// revision and time ("dev" builds from a checkout still say which commit).
func versionString() string {
	v := Version
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, when, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+modified"
				}
			}
		}
		if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		if rev != "" {
			if len(rev) > 12 {
				rev = rev[:12]
			}
			v += " (" + rev + dirty + " " + when + ")"
		}
		v += " " + bi.GoVersion
	}
	return v
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{Use: "version", Short: "Print runbook's version", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(a.stdout, "runbook", versionString())
			return nil
		}}
}

// Package hostexec is what running a command on a host means to every layer
// of runbook: the Host interface, a command and its result, and the shell
// quoting and user switching all scripts are built with. It is a leaf:
// transports implement Host, modules and templates use it, and it imports
// no other package of runbook.
package hostexec

import (
	"context"
	"strings"
)

// Host is what a module needs from a machine: run a command, with optional
// stdin, under a POSIX shell. Transports (local, SSH, become) implement it;
// file transfer is built on top of it.
type Host interface {
	Name() string
	Run(ctx context.Context, cmd Cmd) (CmdResult, error)
}

// Cmd is one command for a host. Script is run by /bin/sh -c.
type Cmd struct {
	Script string
	Stdin  []byte
	// Secret marks Stdin as secret: never logged.
	Secret bool
}

// CmdResult is what a command did. A non-zero RC is not an error: the error
// return is for a host that could not be reached or a command that could not
// be started.
type CmdResult struct {
	RC     int
	Stdout string
	Stderr string
}

// Quote quotes s for a POSIX shell. It is the one shell-quoting helper:
// argument builders, the become wrapper and the templates' shq use it.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return QuoteAlways(s)
}

// QuoteAlways quotes s in single quotes even when it needs none (the
// templates' shq, whose output must look the same for every value).
func QuoteAlways(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// Join quotes each argument and joins them into one command line.
func Join(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = Quote(a)
	}
	return strings.Join(q, " ")
}

// AsUser wraps a script to run as another local user on the host: directly
// when already that user, with runuser as root, else with sudo -n.
func AsUser(user, script string) string {
	inner := Quote("cd / && " + script)
	u := Quote(user)
	return `if [ "$(id -un)" = ` + u + ` ]; then exec sh -c ` + inner + `; ` +
		`elif [ "$(id -u)" = 0 ]; then exec runuser -u ` + u + ` -- sh -c ` + inner + `; ` +
		`else exec sudo -n -u ` + u + ` -- sh -c ` + inner + `; fi`
}

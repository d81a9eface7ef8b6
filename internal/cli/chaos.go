package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"

	"github.com/runbook-lab/runbook/lab"
)

// chaos runs the lab's chaos campaign (or a repeated drill), each
// playbook through this CLI's play command with the connection flags it
// was given; a broken invariant exits 2.
func (a *app) chaos(ctx context.Context, f *runFlags, extra map[string]any) error {
	common := f.passThrough()
	play := func(args ...string) (int, string) {
		var out bytes.Buffer
		code := Main(append(append([]string{"play"}, args...), common...), strings.NewReader(""), &out, &out)
		return code, out.String()
	}
	err := lab.Campaign(ctx, a.stdout, play, extra)
	var broken *lab.Broken
	if errors.As(err, &broken) {
		return &exitError{code: 2}
	}
	return err
}

// passThrough are the connection flags a campaign gives every playbook.
func (f *runFlags) passThrough() []string {
	var out []string
	if f.inventory != "" {
		out = append(out, "-i", f.inventory)
	}
	if f.netns != "" {
		out = append(out, "--netns", f.netns)
	}
	if f.knownHosts != "" {
		out = append(out, "--known-hosts", f.knownHosts)
	}
	if f.acceptNew {
		out = append(out, "--ssh-accept-new")
	}
	if f.remoteUser != "" {
		out = append(out, "-u", f.remoteUser)
	}
	if f.privateKey != "" {
		out = append(out, "--private-key", f.privateKey)
	}
	return out
}

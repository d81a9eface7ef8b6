package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"

	"github.com/runbook-lab/runbook/lab"
)

// chaos runs the lab's chaos campaign (or a repeated drill): each play goes
// to the runner directly, with the connection settings the campaign was
// given and its output kept for the campaign's log; a broken invariant
// exits 2.
func (a *app) chaos(ctx context.Context, f *runFlags, extra map[string]any) error {
	play := func(p lab.Play) (int, string) {
		var out bytes.Buffer
		sub := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &out, vault: a.vault}
		g := f.connection()
		g.limit = p.Limit
		for k, v := range p.Vars {
			g.extra = append(g.extra, k+"="+v)
		}
		return exitCode(sub.playNamed(ctx, &g, p.Playbook), &out), out.String()
	}
	err := lab.Campaign(ctx, a.stdout, play, extra)
	var broken *lab.Broken
	if errors.As(err, &broken) {
		return &exitError{code: 2}
	}
	return err
}

// playNamed loads a playbook and its inventory and runs it, as `runbook
// play NAME` with these flags does.
func (a *app) playNamed(ctx context.Context, f *runFlags, name string) error {
	pb, err := newLoader().Load(name)
	if err != nil {
		return err
	}
	inv, err := f.loadInventoryFor(a, name)
	if err != nil {
		return err
	}
	return a.runPlay(ctx, f, name, pb, inv, nil, nil, "", false)
}

// connection are the settings a campaign gives every play: how to reach
// the hosts, and the defaults of every other flag.
func (f *runFlags) connection() runFlags {
	return runFlags{inventory: f.inventory, netns: f.netns, knownHosts: f.knownHosts, acceptNew: f.acceptNew,
		remoteUser: f.remoteUser, privateKey: f.privateKey, forks: 10, timeout: 10, outputFormat: "text"}
}

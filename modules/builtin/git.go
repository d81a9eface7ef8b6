package builtin

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// Git clones a repository on the host and keeps it at a version (Ansible's
// git).
type Git struct {
	Repo          string `yaml:"repo" aliases:"name" doc:"the repository URL or path"`
	Dest          string `yaml:"dest" doc:"where the working copy goes"`
	Version       string `yaml:"version" doc:"branch, tag or commit (HEAD: the remote's default branch)" default:"HEAD"`
	Force         bool   `yaml:"force" doc:"discard local changes in the working copy"`
	Depth         int    `yaml:"depth" doc:"a shallow clone with this many commits"`
	Update        *bool  `yaml:"update" doc:"fetch and move to version when the copy exists" default:"true"`
	Clone         *bool  `yaml:"clone" doc:"clone when dest is missing" default:"true"`
	Recursive     *bool  `yaml:"recursive" doc:"with submodules" default:"true"`
	SingleBranch  bool   `yaml:"single_branch" doc:"clone only the history of version"`
	Remote        string `yaml:"remote" doc:"name of the remote" default:"origin"`
	AcceptHostKey bool   `yaml:"accept_hostkey" doc:"accept an unknown SSH host key of the git server (StrictHostKeyChecking=accept-new)"`
	KeyFile       string `yaml:"key_file" doc:"SSH private key on the host for the git server"`
}

func init() {
	modules.Register(modules.Info{ID: "git", Summary: "Clone a git repository on the host and keep it at a branch, tag or commit.",
		Example: "git:\n  repo: https://github.com/example/tool.git\n  dest: /opt/tool\n  version: v1.2.0", New: func() modules.Module { return &Git{} }})
}

var refName = regexp.MustCompile(`^[A-Za-z0-9._/@^~-]+$`)

// Validate checks the arguments.
func (g *Git) Validate() error {
	if g.Repo == "" || g.Dest == "" {
		return errors.New("git: repo and dest are required")
	}
	if !refName.MatchString(g.Version) || strings.HasPrefix(g.Version, "-") {
		return fmt.Errorf("git: %q is not a branch, tag or commit", g.Version)
	}
	if strings.HasPrefix(g.Repo, "-") || !refName.MatchString(g.Remote) {
		return errors.New("git: repo and remote must not start with '-'")
	}
	return nil
}

// Run clones or updates.
func (g *Git) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	dest := modules.Quote(g.Dest)
	gitEnv := "GIT_TERMINAL_PROMPT=0 "
	var sshOpts []string
	if g.AcceptHostKey {
		sshOpts = append(sshOpts, "-o StrictHostKeyChecking=accept-new")
	}
	if g.KeyFile != "" {
		sshOpts = append(sshOpts, "-i "+modules.Quote(g.KeyFile)+" -o IdentitiesOnly=yes")
	}
	if len(sshOpts) > 0 {
		gitEnv += "GIT_SSH_COMMAND=" + modules.Quote("ssh "+strings.Join(sshOpts, " ")) + " "
	}
	git := gitEnv + "git -C " + dest + " "
	r, err := env.Host.Run(ctx, modules.Cmd{Script: git + "rev-parse HEAD 2>/dev/null"})
	if err != nil {
		return nil, err
	}
	before := strings.TrimSpace(r.Stdout)
	res := &modules.Result{Data: map[string]any{"before": nil, "after": before}}
	if before != "" {
		res.Data["before"] = before
	}
	remote := modules.Quote(g.Remote)
	v := modules.Quote(g.Version)
	after := func(ctx context.Context) error {
		r, err := modules.RunOK(ctx, env.Host, git+"rev-parse HEAD", "git rev-parse")
		if err == nil {
			res.Data["after"] = strings.TrimSpace(r.Stdout)
		}
		return err
	}
	if before == "" {
		if g.Clone != nil && !*g.Clone {
			return res, nil
		}
		res.Changed, res.Msg = true, "clone "+g.Repo
		clone := gitEnv + "git clone -q --origin " + remote
		if g.Depth > 0 {
			clone += fmt.Sprintf(" --depth %d", g.Depth)
		}
		if g.SingleBranch {
			clone += " --single-branch"
		}
		if g.Version != "HEAD" {
			// a branch or tag clones straight to it; a commit is checked out after
			clone += " --no-checkout"
		}
		if g.Recursive == nil || *g.Recursive {
			clone += " --recurse-submodules"
		}
		clone += " -- " + modules.Quote(g.Repo) + " " + dest
		script := "set -e\n" + clone + "\n"
		if g.Version != "HEAD" {
			script += git + "checkout -q --force " + remote + "/" + v + " 2>/dev/null || " + git + "checkout -q --force " + v + "\n"
			script += "if " + git + "show-ref -q --verify refs/remotes/" + remote + "/" + v + "; then " + git + "checkout -q -B " + v + " " + remote + "/" + v + "; fi\n"
		}
		res.Apply = func(ctx context.Context) error {
			if _, err := modules.RunOK(ctx, env.Host, script, "git clone"); err != nil {
				return err
			}
			return after(ctx)
		}
		return res, nil
	}
	if g.Update != nil && !*g.Update {
		return res, nil
	}
	dirty, err := modules.RunOK(ctx, env.Host, git+"status --porcelain --untracked-files=no", "git status")
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(dirty.Stdout) != "" && !g.Force {
		return modules.Failf("git: local modifications exist in %s (force: true discards them)", g.Dest), nil
	}
	// the plan asks the remote (ls-remote reads only); the fetch is Apply's
	target, err := g.remoteTarget(ctx, env, git, remote)
	if err != nil {
		return nil, err
	}
	if target == before || (target == "" && strings.HasPrefix(before, g.Version)) {
		return res, nil
	}
	res.Changed, res.Msg = true, "update to "+g.Version
	if target != "" {
		res.Data["after"] = target
	}
	res.Apply = func(ctx context.Context) error {
		fetch := git + "fetch -q --tags " + remote
		if g.Depth > 0 {
			fetch += fmt.Sprintf(" --depth %d", g.Depth)
		}
		if _, err := modules.RunOK(ctx, env.Host, fetch, "git fetch"); err != nil {
			return err
		}
		target, err := g.resolve(ctx, env, git, remote, v)
		if err != nil {
			return err
		}
		if target == before { // the remote moved back meanwhile
			res.Changed, res.Msg = false, ""
			return after(ctx)
		}
		script := "set -e\nif " + git + "show-ref -q --verify refs/remotes/" + remote + "/" + v + "; then " + git + "checkout -q --force -B " + v + " " + remote + "/" + v + "; else " + git + "checkout -q --force " + modules.Quote(target) + "; fi\n"
		if g.Version == "HEAD" {
			script = "set -e\n" + git + "reset -q --hard " + modules.Quote(target) + "\n"
		}
		if g.Recursive == nil || *g.Recursive {
			script += git + "submodule -q update --init --recursive\n"
		}
		if _, err := modules.RunOK(ctx, env.Host, script, "git checkout"); err != nil {
			return err
		}
		return after(ctx)
	}
	return res, nil
}

// remoteTarget is the commit the remote names version by, read with
// ls-remote (nothing is fetched): a tag's commit, else the branch's, else
// the remote's HEAD for HEAD; "" when the remote names no such ref (a
// commit id, found only once fetched).
func (g *Git) remoteTarget(ctx context.Context, env *modules.Env, git, remote string) (string, error) {
	refs := "HEAD"
	if g.Version != "HEAD" {
		refs = modules.Quote("refs/tags/"+g.Version+"^{}") + " " + modules.Quote("refs/tags/"+g.Version) + " " + modules.Quote("refs/heads/"+g.Version)
	}
	r, err := modules.RunOK(ctx, env.Host, git+"ls-remote "+remote+" "+refs, "git ls-remote")
	if err != nil {
		return "", err
	}
	found := map[string]string{}
	for _, line := range strings.Split(r.Stdout, "\n") {
		if id, ref, ok := strings.Cut(strings.TrimSpace(line), "\t"); ok {
			found[ref] = id
		}
	}
	for _, ref := range []string{"HEAD", "refs/tags/" + g.Version + "^{}", "refs/tags/" + g.Version, "refs/heads/" + g.Version} {
		if id := found[ref]; id != "" {
			return id, nil
		}
	}
	return "", nil
}

// resolve is the commit version names after the fetch: the remote's branch,
// a tag, a commit, or for HEAD the remote's default branch.
func (g *Git) resolve(ctx context.Context, env *modules.Env, git, remote, v string) (string, error) {
	var script string
	if g.Version == "HEAD" {
		script = git + "rev-parse " + remote + "/HEAD 2>/dev/null || " + git + "ls-remote " + remote + " HEAD | cut -f1"
	} else {
		script = git + "rev-parse --verify -q " + remote + "/" + v + " || " + git + "rev-parse --verify -q " + v + "^{commit}"
	}
	r, err := modules.RunOK(ctx, env.Host, script, "git rev-parse")
	if err != nil {
		return "", fmt.Errorf("git: version %s not found in %s", g.Version, g.Repo)
	}
	return strings.TrimSpace(strings.Split(r.Stdout, "\n")[0]), nil
}

var _ modules.Validator = (*Git)(nil)

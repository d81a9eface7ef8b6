package builtin

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// Dnf installs, upgrades or removes RPM packages with dnf (or yum: the
// same module registered twice, the binary differs).
type Dnf struct {
	Name        modules.StringList `yaml:"name" aliases:"pkg" doc:"package(s), optionally name-version"`
	State       string             `yaml:"state" doc:"present (or installed), absent (or removed), latest" default:"present"`
	UpdateCache bool               `yaml:"update_cache" aliases:"expire-cache" doc:"refresh the metadata first (makecache)"`
	EnableRepo  modules.StringList `yaml:"enablerepo" doc:"repositories to enable for this task"`
	DisableRepo modules.StringList `yaml:"disablerepo" doc:"repositories to disable for this task"`
	DisableGPG  bool               `yaml:"disable_gpg_check" doc:"do not check package signatures"`
	Exclude     modules.StringList `yaml:"exclude" doc:"packages not to install or upgrade"`
	Autoremove  bool               `yaml:"autoremove" doc:"remove packages nothing depends on any more"`
	// AllowDowngrade lets a name-version install an older version.
	AllowDowngrade bool `yaml:"allow_downgrade" doc:"let a name-version install an older version (dnf install --allowerasing)"`
	tool           string
}

func init() {
	modules.Register(modules.Info{ID: "dnf", Summary: "Install, upgrade or remove RPM packages with dnf (RHEL, Fedora, Rocky, Alma); reads rpm state first.",
		Example: "dnf:\n  name: [postgresql-server, postgresql-contrib]\n  state: present", New: func() modules.Module { return &Dnf{tool: "dnf"} }})
	modules.Register(modules.Info{ID: "yum", Summary: "Install, upgrade or remove RPM packages with yum (older RHEL and CentOS); reads rpm state first.",
		Example: "yum:\n  name: [postgresql-server]\n  state: present", New: func() modules.Module { return &Dnf{tool: "yum"} }})
}

var rpmName = regexp.MustCompile(`^[A-Za-z0-9@][A-Za-z0-9._+:@-]*$`)

// rpmSource: a package file named by URL or absolute path.
var rpmSource = regexp.MustCompile(`^((https?|ftp)://[^\s'"]+|/[^\s'"]+\.rpm)$`)

func normalState(s string) string {
	switch s {
	case "installed":
		return "present"
	case "removed":
		return "absent"
	}
	return s
}

// Validate checks names and state.
func (d *Dnf) Validate() error {
	d.State = normalState(d.State)
	if len(d.Name) == 0 && !d.UpdateCache && !d.Autoremove {
		return fmt.Errorf("%s: name is required", d.tool)
	}
	for _, n := range d.Name {
		if rpmSource.MatchString(n) {
			continue // a package file by URL or path, as dnf (and Ansible's dnf) take it
		}
		if rpmGroup.MatchString(n) {
			continue // a group or environment (@Development tools), as dnf takes it
		}
		if !rpmName.MatchString(n) {
			return fmt.Errorf("%s: %q is not a package name, an .rpm URL or an .rpm path", d.tool, n)
		}
	}
	for _, n := range append(append(append([]string{}, d.EnableRepo...), d.DisableRepo...), d.Exclude...) {
		if !rpmName.MatchString(n) {
			return fmt.Errorf("%s: %q is not a package or repository name", d.tool, n)
		}
	}
	switch d.State {
	case "present", "absent", "latest":
		return nil
	}
	return fmt.Errorf("%s: state must be present, installed, absent, removed or latest, got %q", d.tool, d.State)
}

// Run installs or removes what differs.
func (d *Dnf) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	tool := d.tool + " -y -q"
	for _, r := range d.EnableRepo {
		tool += " --enablerepo=" + modules.Quote(r)
	}
	for _, r := range d.DisableRepo {
		tool += " --disablerepo=" + modules.Quote(r)
	}
	if d.DisableGPG {
		tool += " --nogpgcheck"
	}
	for _, x := range d.Exclude {
		tool += " --exclude=" + modules.Quote(x)
	}
	if d.AllowDowngrade {
		tool += " --allowerasing"
	}
	plan, err := d.plan(ctx, env, tool)
	if err != nil || !d.UpdateCache || plan.Failed {
		return plan, err
	}
	// the plan reads the cache as it is; Apply refreshes it, plans again
	// against the fresh metadata and carries that out
	plan.Apply = func(ctx context.Context) error {
		if _, err := modules.RunOK(ctx, env.Host, tool+" makecache", d.tool+" makecache"); err != nil {
			return err
		}
		fresh, err := d.plan(ctx, env, tool)
		if err != nil {
			return err
		}
		err = fresh.Do(ctx)
		*plan = *fresh
		return err
	}
	return plan, nil
}

// plan compares the packages with what is installed and plans the dnf run.
func (d *Dnf) plan(ctx context.Context, env *modules.Env, tool string) (*modules.Result, error) {
	res := &modules.Result{Data: map[string]any{}}
	var todo []string
	if len(d.Name) > 0 {
		// rpm -q prints "package X is not installed" for a missing one
		r, err := env.Host.Run(ctx, modules.Cmd{Script: "rpm -q --qf '%{NAME}\\n' " + modules.Join(d.Name...) + " 2>/dev/null"})
		if err != nil {
			return nil, err
		}
		installed := map[string]bool{}
		for _, l := range strings.Split(r.Stdout, "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.Contains(l, " ") {
				installed[l] = true
			}
		}
		if groups := groupNames(d.Name); len(groups) > 0 {
			// a group is installed when dnf lists it among the installed
			// ones, by id or by name (dnf 4 and 5 print them differently)
			g, err := env.Host.Run(ctx, modules.Cmd{Script: d.tool + " -q group list --installed 2>/dev/null"})
			if err != nil {
				return nil, err
			}
			listed := strings.ToLower(g.Stdout)
			for _, n := range groups {
				installed[n] = strings.Contains(listed, strings.ToLower(strings.TrimPrefix(n, "@")))
			}
		}
		for _, n := range d.Name {
			have := installed[n]
			switch d.State {
			case "present":
				if !have {
					todo = append(todo, n)
				}
			case "absent":
				if have {
					todo = append(todo, n)
				}
			case "latest":
				if !have {
					todo = append(todo, n)
					continue
				}
				// check-update exits 100 when an update is available
				c, err := env.Host.Run(ctx, modules.Cmd{Script: d.tool + " -q check-update " + modules.Quote(n)})
				if err != nil {
					return nil, err
				}
				if c.RC == 100 {
					todo = append(todo, n)
				}
			}
		}
	}
	sort.Strings(todo)
	if len(todo) == 0 && !d.Autoremove {
		return res, nil
	}
	verb := map[string]string{"present": "install", "latest": "install", "absent": "remove"}[d.State]
	if d.State == "latest" {
		verb = "upgrade"
	}
	if len(todo) > 0 {
		res.Changed = true
		res.Msg = verb + " " + strings.Join(todo, " ")
		res.Data["results"] = modules.AnyList(todo)
	}
	res.Then(func(ctx context.Context) error {
		var cmds []string
		if len(todo) > 0 {
			if d.State == "latest" {
				cmds = append(cmds, tool+" install "+modules.Join(todo...)+" || "+tool+" upgrade "+modules.Join(todo...))
			} else {
				cmds = append(cmds, tool+" "+verb+" "+modules.Join(todo...))
			}
		}
		if d.Autoremove {
			cmds = append(cmds, tool+" autoremove")
		}
		r, err := env.Host.Run(ctx, modules.Cmd{Script: strings.Join(cmds, " && ")})
		if err != nil {
			return err
		}
		if r.RC != 0 {
			*res = *modules.Failf("%s failed: %s", d.tool, modules.LastLines(strings.TrimSpace(r.Stderr+"\n"+r.Stdout), 8))
		}
		return nil
	})
	return res, nil
}

var (
	_ modules.Validator = (*Dnf)(nil)
)

// rpmGroup is a package group or environment as dnf names them: @ and a
// name or id (spaces allowed).
var rpmGroup = regexp.MustCompile(`^@[A-Za-z0-9][A-Za-z0-9 ._+-]*$`)

// groupNames are the groups among names.
func groupNames(names []string) []string {
	var out []string
	for _, n := range names {
		if rpmGroup.MatchString(n) {
			out = append(out, n)
		}
	}
	return out
}

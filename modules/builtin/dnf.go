package builtin

import (
	"context"
	"errors"
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

// Package installs packages with whatever the host has (apt, dnf or yum),
// as Ansible's package module.
type Package struct {
	Name  modules.StringList `yaml:"name" aliases:"pkg" doc:"package(s)"`
	State string             `yaml:"state" doc:"present (or installed), absent (or removed), latest" default:"present"`
	Use   string             `yaml:"use" doc:"auto, apt, dnf or yum" default:"auto"`
	// what Ansible's package hands to the package manager
	EnableRepo  modules.StringList `yaml:"enablerepo" doc:"dnf/yum: repositories to enable"`
	DisableRepo modules.StringList `yaml:"disablerepo" doc:"dnf/yum: repositories to disable"`
	UpdateCache bool               `yaml:"update_cache" doc:"refresh the package lists first"`
	// what Ansible's package passes on to apt or dnf
	CacheValidTime    int    `yaml:"cache_valid_time" doc:"apt: skip the update when the lists are younger than this many seconds"`
	InstallRecommends *bool  `yaml:"install_recommends" doc:"apt: install recommended packages too"`
	DefaultRelease    string `yaml:"default_release" doc:"apt: install from this release"`
	AllowDowngrade    bool   `yaml:"allow_downgrade" doc:"apt, dnf: let a pinned version install an older one"`
	DisableGPG        bool   `yaml:"disable_gpg_check" doc:"dnf/yum: do not check signatures"`
	Purge             bool   `yaml:"purge" doc:"apt: with state absent, remove configuration files too"`
}

func init() {
	modules.Register(modules.Info{ID: "dnf", Summary: "Install, upgrade or remove RPM packages with dnf (RHEL, Fedora, Rocky, Alma); reads rpm state first.",
		Example: "dnf:\n  name: [postgresql-server, postgresql-contrib]\n  state: present", New: func() modules.Module { return &Dnf{tool: "dnf"} }})
	modules.Register(modules.Info{ID: "yum", Summary: "Install, upgrade or remove RPM packages with yum (older RHEL and CentOS); reads rpm state first.",
		Example: "yum:\n  name: [postgresql-server]\n  state: present", New: func() modules.Module { return &Dnf{tool: "yum"} }})
	modules.Register(modules.Info{ID: "package", Summary: "Install or remove packages with the host's own manager (apt, dnf or yum).",
		Example: "package:\n  name: git\n  state: present", New: func() modules.Module { return &Package{} }})
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
	res := &modules.Result{Data: map[string]any{}}
	if d.UpdateCache && !env.Check {
		if _, err := modules.RunOK(ctx, env.Host, tool+" makecache", d.tool+" makecache"); err != nil {
			return nil, err
		}
	}
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
	if env.Check {
		return res, nil
	}
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
		return nil, err
	}
	if r.RC != 0 {
		return modules.Failf("%s failed: %s", d.tool, modules.LastLines(strings.TrimSpace(r.Stderr+"\n"+r.Stdout), 8)), nil
	}
	return res, nil
}

// Validate checks the arguments.
func (p *Package) Validate() error {
	p.State = normalState(p.State)
	if len(p.Name) == 0 && !p.UpdateCache {
		// package hands its arguments to apt or dnf, which refresh their lists alone
		return errors.New("package: name is required (or update_cache)")
	}
	switch p.Use {
	case "auto", "apt", "dnf", "yum":
	default:
		return fmt.Errorf("package: use must be auto, apt, dnf or yum, got %q", p.Use)
	}
	return nil
}

// Run picks the host's package manager and hands the task to it.
func (p *Package) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	use := p.Use
	if use == "auto" {
		if mgr, ok := env.Vars["ansible_pkg_mgr"].(string); ok && mgr != "" {
			use = mgr
		} else {
			r, err := modules.RunOK(ctx, env.Host, "for p in apt-get dnf yum; do command -v $p >/dev/null 2>&1 && { echo $p; exit 0; }; done; echo none", "package manager")
			if err != nil {
				return nil, err
			}
			use = strings.TrimSuffix(strings.TrimSpace(r.Stdout), "-get")
		}
	}
	var m interface {
		modules.Module
		modules.Validator
	}
	switch use {
	case "apt":
		m = &Apt{Name: p.Name, State: p.State, Upgrade: "no", DpkgOptions: "force-confdef,force-confold", LockTimeout: 300, UpdateCache: p.UpdateCache,
			CacheValidTime: p.CacheValidTime, InstallRecommends: p.InstallRecommends, DefaultRelease: p.DefaultRelease, AllowDowngrade: p.AllowDowngrade,
			Purge: p.Purge}
	case "dnf", "yum":
		if p.Purge {
			return modules.Failf("package: purge is apt's (dnf and yum have no such removal)"), nil
		}
		m = &Dnf{Name: p.Name, State: p.State, tool: use, EnableRepo: p.EnableRepo, DisableRepo: p.DisableRepo, UpdateCache: p.UpdateCache,
			AllowDowngrade: p.AllowDowngrade, DisableGPG: p.DisableGPG}
	default:
		return modules.Failf("package: no supported package manager on %s (apt, dnf or yum), found %q", env.Host.Name(), use), nil
	}
	if err := m.Validate(); err != nil {
		return modules.Failf("%v", err), nil
	}
	return m.Run(ctx, env)
}

var (
	_ modules.Validator = (*Dnf)(nil)
	_ modules.Validator = (*Package)(nil)
)

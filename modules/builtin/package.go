package builtin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "package", Summary: "Install or remove packages with the host's own manager (apt, dnf or yum).",
		Example: "package:\n  name: git\n  state: present", New: func() modules.Module { return &Package{DpkgOptions: "force-confdef,force-confold"} }})
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
	Force             bool   `yaml:"force" doc:"apt: as --force-yes (unauthenticated, downgrades, held packages)"`
	Autoremove        bool   `yaml:"autoremove" doc:"apt, dnf: remove packages nothing depends on any more"`
	DpkgOptions       string `yaml:"dpkg_options" doc:"apt: dpkg options, comma-separated" default:"force-confdef,force-confold"`
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
		m = &Apt{Name: p.Name, State: p.State, Upgrade: "no", DpkgOptions: p.DpkgOptions, LockTimeout: 300, UpdateCache: p.UpdateCache,
			CacheValidTime: p.CacheValidTime, InstallRecommends: p.InstallRecommends, DefaultRelease: p.DefaultRelease, AllowDowngrade: p.AllowDowngrade,
			Purge: p.Purge, Force: p.Force, Autoremove: p.Autoremove}
	case "dnf", "yum":
		if p.Purge || p.Force {
			return modules.Failf("package: purge and force are apt's (dnf and yum have no such option)"), nil
		}
		m = &Dnf{Name: p.Name, State: p.State, tool: use, EnableRepo: p.EnableRepo, DisableRepo: p.DisableRepo, UpdateCache: p.UpdateCache,
			AllowDowngrade: p.AllowDowngrade, DisableGPG: p.DisableGPG, Autoremove: p.Autoremove}
	default:
		return modules.Failf("package: no supported package manager on %s (apt, dnf or yum), found %q", env.Host.Name(), use), nil
	}
	if err := m.Validate(); err != nil {
		return modules.Failf("%v", err), nil
	}
	return m.Run(ctx, env)
}

var _ modules.Validator = (*Package)(nil)

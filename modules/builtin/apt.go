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

// Apt installs, upgrades and removes Debian packages.
type Apt struct {
	Name              modules.StringList `yaml:"name" aliases:"pkg,package" doc:"package(s), optionally name=version"`
	State             string             `yaml:"state" doc:"present (or installed), absent (or removed), latest" default:"present"`
	Purge             bool               `yaml:"purge" doc:"with state absent: remove configuration files too"`
	Autoremove        bool               `yaml:"autoremove" doc:"remove packages nothing depends on any more"`
	Upgrade           string             `yaml:"upgrade" doc:"upgrade the system: no, yes or safe (apt-get upgrade), dist or full (dist-upgrade)" default:"no"`
	DpkgOptions       string             `yaml:"dpkg_options" doc:"dpkg options, comma-separated (Ansible's default keeps changed config files)" default:"force-confdef,force-confold"`
	ForceAptGet       bool               `yaml:"force_apt_get" doc:"accepted for Ansible playbooks; runbook always uses apt-get"`
	UpdateCache       bool               `yaml:"update_cache" doc:"apt-get update first"`
	CacheValidTime    int                `yaml:"cache_valid_time" doc:"skip the update when the lists are younger than this many seconds"`
	InstallRecommends *bool              `yaml:"install_recommends" doc:"install recommended packages too (unset: apt's own setting)"`
	LockTimeout       int                `yaml:"lock_timeout" doc:"seconds to wait for the dpkg lock" default:"300"`
	DefaultRelease    string             `yaml:"default_release" aliases:"default-release" doc:"install from this release (apt-get -t), e.g. bookworm-backports"`
	AllowDowngrade    bool               `yaml:"allow_downgrade" aliases:"allow-downgrade,allow_downgrades,allow-downgrades" doc:"let a name=version install an older version"`
	Force             bool               `yaml:"force" doc:"as Ansible's --force-yes: allow unauthenticated packages, downgrades, held packages and removing essential ones"`
}

func init() {
	modules.Register(modules.Info{ID: "apt", Summary: "Install, upgrade or remove Debian packages (reads dpkg state first, waits for the dpkg lock, names unknown packages).",
		Example: "apt:\n  name: [postgresql, postgresql-contrib]\n  update_cache: true\n  cache_valid_time: 3600",
		New:     func() modules.Module { return &Apt{} }})
}

var pkgName = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]*(=[A-Za-z0-9.+~:-]+)?$`)

// Validate checks names and state.
func (a *Apt) Validate() error {
	switch a.State {
	case "installed":
		a.State = "present"
	case "removed":
		a.State = "absent"
	}
	switch a.Upgrade {
	case "no", "yes", "safe", "dist", "full":
	case "true", "True":
		a.Upgrade = "yes"
	case "false", "False", "":
		a.Upgrade = "no"
	default:
		return fmt.Errorf("apt: upgrade must be no, yes, safe, dist or full, got %q", a.Upgrade)
	}
	if len(a.Name) == 0 && !a.UpdateCache && a.Upgrade == "no" && !a.Autoremove {
		return errors.New("apt: name is required (or update_cache, upgrade, autoremove)")
	}
	for _, n := range a.Name {
		if !pkgName.MatchString(n) {
			return fmt.Errorf("apt: %q is not a package name", n)
		}
	}
	switch a.State {
	case "present", "absent", "latest":
	default:
		return fmt.Errorf("apt: state must be present, installed, absent, removed or latest, got %q", a.State)
	}
	return nil
}

// pkgState is dpkg's view of a package.
type pkgState struct{ installed, version, candidate string }

const dpkgQuery = `for p in %s; do
  s=$(dpkg-query -W -f='${Status}\t${Version}' "$p" 2>/dev/null) || s="not-installed	"
  c=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')
  printf '%%s\t%%s\t%%s\n' "$p" "$s" "$c"
done`

func (a *Apt) query(ctx context.Context, h modules.Host, names []string) (map[string]pkgState, error) {
	r, err := modules.RunOK(ctx, h, fmt.Sprintf(dpkgQuery, modules.Join(names...)), "dpkg-query")
	if err != nil {
		return nil, err
	}
	out := map[string]pkgState{}
	for _, l := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		f := strings.Split(l, "\t")
		if len(f) < 4 {
			continue
		}
		st := pkgState{version: f[2], candidate: f[3]}
		if strings.HasSuffix(f[1], " installed") && strings.HasPrefix(f[1], "install ") {
			st.installed = "yes"
		}
		out[f[0]] = st
	}
	return out, nil
}

// Run installs or removes what differs. With update_cache it plans against
// the package lists as they are; Apply updates them (unless
// cache_valid_time calls them fresh and they know every package), plans
// again against the new lists and carries that out.
func (a *Apt) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	fresh := false
	if a.UpdateCache && a.CacheValidTime > 0 {
		r, err := env.Host.Run(ctx, modules.Cmd{Script: fmt.Sprintf(`t=$(stat -c %%Y /var/lib/apt/lists/partial /var/cache/apt/pkgcache.bin 2>/dev/null | sort -n | tail -1); [ -n "$t" ] && [ $(( $(date +%%s) - t )) -lt %d ]`, a.CacheValidTime)})
		if err != nil {
			return nil, err
		}
		fresh = r.RC == 0
	}
	plan, unknown, err := a.plan(ctx, env, a.UpdateCache)
	if err != nil || plan.Failed || !a.UpdateCache {
		return plan, err
	}
	plan.Data["cache_updated"] = !fresh
	// lists called fresh that lack a package: the sources may have changed
	// since; they are updated once before giving up
	if fresh && !(unknown && a.State != "absent") {
		return plan, nil
	}
	plan.Apply = func(ctx context.Context) error {
		lock := fmt.Sprintf("-o DPkg::Lock::Timeout=%d", a.LockTimeout)
		if _, err := modules.RunOK(ctx, env.Host, "DEBIAN_FRONTEND=noninteractive apt-get "+lock+" update -q", "apt-get update"); err != nil {
			return err
		}
		again, _, err := a.plan(ctx, env, false)
		if err != nil {
			return err
		}
		err = again.Do(ctx)
		if again.Data != nil {
			again.Data["cache_updated"] = true
		}
		*plan = *again
		return err
	}
	if len(a.Name) == 0 && a.Upgrade == "no" && !a.Autoremove {
		plan.Changed = true // as Ansible: nothing else to do, so the update is the change
	}
	return plan, nil
}

// plan compares the packages with dpkg's state and the lists' candidates.
// With lenient, a package the lists do not know is planned for install
// (an update comes first) instead of failing the task; unknown says there
// was one.
func (a *Apt) plan(ctx context.Context, env *modules.Env, lenient bool) (*modules.Result, bool, error) {
	res := &modules.Result{Data: map[string]any{}}
	env2 := "DEBIAN_FRONTEND=noninteractive "
	lock := fmt.Sprintf("-o DPkg::Lock::Timeout=%d", a.LockTimeout)
	if a.Upgrade != "no" || (a.Autoremove && len(a.Name) == 0) {
		res, err := a.system(ctx, env, res, env2+"apt-get "+lock+a.dpkgFlags())
		return res, false, err
	}
	if len(a.Name) == 0 {
		return res, false, nil
	}
	names := make([]string, len(a.Name))
	wantVersion := map[string]string{}
	for i, n := range a.Name {
		p, v, _ := strings.Cut(n, "=")
		names[i] = p
		if v != "" {
			wantVersion[p] = v
		}
	}
	state, err := a.query(ctx, env.Host, names)
	if err != nil {
		return nil, false, err
	}
	unknown := anyUnknown(state, names)
	none := func(c string) bool { return (c == "" || c == "(none)") && !lenient }
	var todo []string
	for i, p := range names {
		st := state[p]
		switch a.State {
		case "absent":
			if st.installed != "" {
				todo = append(todo, p)
			}
		case "present":
			if st.installed == "" || (wantVersion[p] != "" && st.version != wantVersion[p]) {
				if none(st.candidate) {
					return modules.Failf("apt: no package %q in the configured sources (apt-get update? a typo?)", p), false, nil
				}
				todo = append(todo, a.Name[i])
			}
		case "latest":
			if none(st.candidate) {
				return modules.Failf("apt: no package %q in the configured sources", p), false, nil
			}
			if st.installed == "" || st.version != st.candidate {
				todo = append(todo, p)
			}
		}
	}
	sort.Strings(todo)
	if len(todo) == 0 {
		return res, unknown, nil
	}
	res.Changed = true
	verb := map[string]string{"absent": "removed", "present": "installed", "latest": "upgraded"}[a.State]
	res.Data[verb] = modules.AnyList(todo)
	res.Msg = verb + " " + strings.Join(todo, " ")
	res.Then(func(ctx context.Context) error {
		var cmd string
		aptGet := env2 + "apt-get " + lock + a.dpkgFlags()
		if a.State == "absent" {
			verb := " remove"
			if a.Purge {
				verb = " purge"
			}
			if a.Force {
				verb += " --allow-remove-essential --allow-change-held-packages"
			}
			cmd = aptGet + verb + " -y -q " + modules.Join(todo...)
		} else {
			rec := ""
			if a.InstallRecommends != nil && *a.InstallRecommends {
				rec = " --install-recommends"
			} else if a.InstallRecommends != nil {
				rec = " --no-install-recommends"
			}
			if a.DefaultRelease != "" {
				rec += " -t " + modules.Quote(a.DefaultRelease)
			}
			if a.AllowDowngrade || a.Force {
				rec += " --allow-downgrades"
			}
			if a.Force {
				rec += " --allow-unauthenticated --allow-change-held-packages"
			}
			cmd = aptGet + " install -y -q" + rec + " " + modules.Join(todo...)
		}
		if a.Autoremove {
			cmd += " && " + aptGet + " autoremove -y -q"
		}
		r, err := env.Host.Run(ctx, modules.Cmd{Script: cmd})
		if err != nil {
			return err
		}
		if r.RC != 0 {
			*res = *modules.Failf("apt-get failed: %s", modules.LastLines(strings.TrimSpace(r.Stderr+"\n"+r.Stdout), 8))
		}
		return nil
	})
	return res, unknown, nil
}

// dpkgFlags passes dpkg_options as apt-get -o options.
func (a *Apt) dpkgFlags() string {
	var b strings.Builder
	for _, o := range strings.Split(a.DpkgOptions, ",") {
		if o = strings.TrimSpace(o); o != "" {
			b.WriteString(" -o " + modules.Quote("Dpkg::Options::=--"+o))
		}
	}
	return b.String()
}

// system is upgrade and autoremove: apt-get -s says what would change
// (nothing: no change), then it is done.
func (a *Apt) system(ctx context.Context, env *modules.Env, res *modules.Result, aptGet string) (*modules.Result, error) {
	verb := map[string]string{"yes": "upgrade", "safe": "upgrade", "dist": "dist-upgrade", "full": "dist-upgrade", "no": "autoremove"}[a.Upgrade]
	r, err := modules.RunOK(ctx, env.Host, aptGet+" -s "+verb, "apt-get -s "+verb)
	if err != nil {
		return nil, err
	}
	n := strings.Count(r.Stdout, "\nInst ") + strings.Count(r.Stdout, "\nRemv ")
	if strings.HasPrefix(r.Stdout, "Inst ") || strings.HasPrefix(r.Stdout, "Remv ") {
		n++
	}
	if n == 0 {
		return res, nil
	}
	res.Changed, res.Msg = true, fmt.Sprintf("%s: %d packages", verb, n)
	res.Then(func(ctx context.Context) error {
		cmd := aptGet + " -y -q " + verb
		if a.Autoremove && verb != "autoremove" {
			cmd += " && " + aptGet + " -y -q autoremove"
		}
		r, err = env.Host.Run(ctx, modules.Cmd{Script: cmd})
		if err != nil {
			return err
		}
		if r.RC != 0 {
			*res = *modules.Failf("apt-get %s failed: %s", verb, modules.LastLines(strings.TrimSpace(r.Stderr+"\n"+r.Stdout), 8))
		}
		return nil
	})
	return res, nil
}

var _ modules.Validator = (*Apt)(nil)

func anyUnknown(state map[string]pkgState, names []string) bool {
	for _, n := range names {
		if c := state[n].candidate; c == "" || c == "(none)" {
			return true
		}
	}
	return false
}

package builtin

import (
	"context"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "package_facts", Summary: "Read the installed packages (dpkg or rpm) into ansible_facts.packages.",
		Example: "package_facts: {}", New: func() modules.Module { return &PackageFacts{} }})
}

// PackageFacts reads installed Debian or RPM packages into
// ansible_facts.packages.
type PackageFacts struct {
	Manager modules.StringList `yaml:"manager" doc:"auto, apt or rpm" default:"auto"`
}

// Run reads the package database.
func (p *PackageFacts) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	r, err := env.Host.Run(ctx, modules.Cmd{Script: `if command -v dpkg-query >/dev/null; then dpkg-query -W -f='${Package}\t${Version}\t${Architecture}\t${db:Status-Abbrev}\n'; elif command -v rpm >/dev/null; then rpm -qa --qf '%{NAME}\t%{VERSION}-%{RELEASE}\t%{ARCH}\tii\n'; fi`})
	if err != nil {
		return nil, err
	}
	pkgs := map[string]any{}
	for _, l := range strings.Split(r.Stdout, "\n") {
		f := strings.Split(l, "\t")
		if len(f) < 4 || !strings.HasPrefix(f[3], "ii") {
			continue
		}
		entry := map[string]any{"name": f[0], "version": f[1], "arch": f[2], "source": "apt"}
		list, _ := pkgs[f[0]].([]any)
		pkgs[f[0]] = append(list, entry)
	}
	return &modules.Result{Facts: map[string]any{"ansible_facts": map[string]any{"packages": pkgs}, "packages": pkgs}}, nil
}

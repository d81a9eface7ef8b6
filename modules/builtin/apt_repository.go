package builtin

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "apt_repository", Summary: "Add or remove an APT source line in /etc/apt/sources.list.d (file named as Ansible names it), then apt-get update.",
		Example: "apt_repository:\n  repo: deb http://apt.postgresql.org/pub/repos/apt bookworm-pgdg main\n  filename: pgdg", New: func() modules.Module { return &AptRepository{} }})
}

// AptRepository adds or removes an APT source line (Ansible's
// apt_repository) in /etc/apt/sources.list.d, or a Launchpad PPA with its
// signing key.
type AptRepository struct {
	Repo        string       `yaml:"repo" doc:"the source line: deb [options] URL suite components"`
	State       string       `yaml:"state" doc:"present or absent" default:"present"`
	Filename    string       `yaml:"filename" doc:"the file's name without .list (default: from the URL, as Ansible)"`
	UpdateCache *bool        `yaml:"update_cache" aliases:"update-cache" doc:"apt-get update after a change" default:"true"`
	Mode        modules.Mode `yaml:"mode" doc:"the file's mode" default:"0644"`
	Codename    string       `yaml:"codename" doc:"a PPA's distribution codename (default: the host's, from /etc/os-release)"`
}

var sourceLine = regexp.MustCompile(`^(deb|deb-src)\s+(\[[^\]]*\]\s+)?\S+://\S+\s+\S+`)

// Validate checks the arguments.
func (a *AptRepository) Validate() error {
	if strings.HasPrefix(a.Repo, "ppa:") {
		if !ppaName.MatchString(a.Repo) {
			return fmt.Errorf("apt_repository: %q is not a PPA (ppa:OWNER or ppa:OWNER/NAME)", a.Repo)
		}
		if a.Codename != "" && !codenameRE.MatchString(a.Codename) {
			return fmt.Errorf("apt_repository: codename %q is not a distribution codename", a.Codename)
		}
	} else if !sourceLine.MatchString(strings.TrimSpace(a.Repo)) {
		return fmt.Errorf("apt_repository: %q is not a source line (deb URL suite [components])", a.Repo)
	}
	if a.State != "present" && a.State != "absent" {
		return fmt.Errorf("apt_repository: state must be present or absent, got %q", a.State)
	}
	if strings.ContainsAny(a.Filename, "/ ") {
		return fmt.Errorf("apt_repository: filename %q is a name, not a path", a.Filename)
	}
	return nil
}

// SourceFileName is the file Ansible's apt_repository writes a line to:
// the URL's host and path with every other character an underscore.
func SourceFileName(line, filename string) string {
	if filename != "" {
		return filename + ".list"
	}
	line = regexp.MustCompile(`\[[^\]]+\]`).ReplaceAllString(line, "")
	line = regexp.MustCompile(`\w+://`).ReplaceAllString(line, "")
	var parts []string
	for _, p := range strings.Fields(line) {
		if p != "deb" && p != "deb-src" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return "runbook.list"
	}
	first := parts[0]
	if i := strings.Index(first, "@"); i >= 0 {
		first = first[i+1:]
	}
	clean := regexp.MustCompile(`[^a-zA-Z0-9]`).ReplaceAllString(first, " ")
	return strings.Join(strings.Fields(clean), "_") + ".list"
}

func normalSource(l string) string { return strings.Join(strings.Fields(l), " ") }

// Run adds the line to its file unless some source file has it, or
// removes it from every file.
func (a *AptRepository) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	var ppa *ppaSource
	if strings.HasPrefix(a.Repo, "ppa:") {
		var err error
		if ppa, err = a.expandPPA(ctx, env); err != nil {
			return nil, err
		}
	}
	want := normalSource(a.Repo)
	if ppa != nil {
		want = ppa.line
	}
	r, err := modules.RunOK(ctx, env.Host, `for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do [ -f "$f" ] && grep -H '' "$f"; done; true`, "read APT sources")
	if err != nil {
		return nil, err
	}
	files := map[string][]string{}
	var order []string
	found := false
	for _, l := range strings.Split(r.Stdout, "\n") {
		f, line, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		if _, seen := files[f]; !seen {
			order = append(order, f)
		}
		files[f] = append(files[f], line)
		found = found || normalSource(line) == want
	}
	res := &modules.Result{Data: map[string]any{"repo": a.Repo, "state": a.State}}
	var steps []func() error
	switch {
	case a.State == "present" && !found:
		path := "/etc/apt/sources.list.d/" + SourceFileName(a.Repo, a.Filename)
		if ppa != nil {
			path = "/etc/apt/sources.list.d/" + ppa.file(a.Filename)
			steps = append(steps, func() error { return ppa.addKey(ctx, env) })
		}
		lines := append(append([]string{}, files[path]...), want)
		steps = append(steps, func() error {
			put, err := modules.PutFile(ctx, env, modules.FileSpec{Path: path, Data: []byte(joinLines(lines)), Mode: a.Mode})
			if err != nil {
				return err
			}
			return put.Do(ctx)
		})
		res.Msg = "added to " + path
	case a.State == "absent" && found:
		for _, f := range order {
			var keep []string
			hit := false
			for _, l := range files[f] {
				if normalSource(l) == want {
					hit = true
				} else {
					keep = append(keep, l)
				}
			}
			if !hit {
				continue
			}
			f, keep := f, keep
			steps = append(steps, func() error {
				if len(keep) == 0 && strings.HasPrefix(f, "/etc/apt/sources.list.d/") {
					_, err := modules.RunOK(ctx, env.Host, "rm -f "+modules.Quote(f), "rm")
					return err
				}
				put, err := modules.PutFile(ctx, env, modules.FileSpec{Path: f, Data: []byte(joinLines(keep))})
				if err != nil {
					return err
				}
				return put.Do(ctx)
			})
		}
		res.Msg = "removed"
	}
	if len(steps) == 0 {
		return res, nil
	}
	res.Changed = true
	res.Then(func(ctx context.Context) error {
		for _, s := range steps {
			if err := s(); err != nil {
				return err
			}
		}
		if a.UpdateCache == nil || *a.UpdateCache {
			_, err := modules.RunOK(ctx, env.Host, "DEBIAN_FRONTEND=noninteractive apt-get update -q", "apt-get update")
			return err
		}
		return nil
	})
	return res, nil
}

var _ modules.Validator = (*AptRepository)(nil)

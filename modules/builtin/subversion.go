package builtin

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// Subversion is Ansible's subversion: a working copy checked out, switched,
// updated (reverted first with force), or an export; the same decisions and
// the same before/after revisions as Ansible. A password goes to svn on
// stdin (--password-from-stdin), never in its arguments.
type Subversion struct {
	Dest       string         `yaml:"dest" doc:"the working copy (or export) folder"`
	Repo       string         `yaml:"repo" aliases:"name,repository" required:"true" doc:"the repository URL"`
	Revision   string         `yaml:"revision" aliases:"rev,version" default:"HEAD" doc:"the revision"`
	Force      bool           `yaml:"force" doc:"revert local changes (update), overwrite (export)"`
	Username   string         `yaml:"username" doc:"repository user"`
	Password   modules.Secret `yaml:"password" doc:"repository password (on svn's stdin)"`
	Executable string         `yaml:"executable" default:"svn" doc:"the svn program"`
	Export     bool           `yaml:"export" doc:"export instead of a working copy"`
	Checkout   *bool          `yaml:"checkout" default:"true" doc:"check out when dest is missing"`
	Update     *bool          `yaml:"update" default:"true" doc:"update an existing working copy"`
	Switch     *bool          `yaml:"switch" default:"true" doc:"switch it to repo first"`
	InPlace    bool           `yaml:"in_place" doc:"check out over an existing folder that is not a working copy"`
	ValidCerts bool           `yaml:"validate_certs" doc:"verify the server's certificate (off: --trust-server-cert, Ansible's default)"`
}

func init() {
	modules.Register(modules.Info{ID: "subversion", Summary: "A Subversion working copy checked out, switched and updated, or exported (Ansible's decisions; the password on svn's stdin)",
		Example: "subversion:\n  repo: https://svn.example.org/repos/tools/trunk\n  dest: /opt/tools", New: func() modules.Module { return &Subversion{} }})
}

// Validate checks what Ansible checks.
func (s *Subversion) Validate() error {
	if s.Dest == "" && (s.Export || s.Checkout == nil || *s.Checkout || s.Update == nil || *s.Update) {
		return fmt.Errorf("subversion: the destination directory must be specified unless checkout=no, update=no, and export=no")
	}
	return nil
}

var svnRevision = regexp.MustCompile(`(?m)^\w+\s?:\s+\d+$`)
var svnURL = regexp.MustCompile(`(?m)^URL\s?:.*$`)
var svnChanged = regexp.MustCompile(`(?m)^[ABDUCGE]\s`)

// svn runs svn with Ansible's fixed options; ok says whether it exited 0.
func (s *Subversion) svn(ctx context.Context, env *modules.Env, args ...string) (string, bool, error) {
	argv := []string{s.Executable, "--non-interactive", "--no-auth-cache"}
	if !s.ValidCerts {
		argv = append(argv, "--trust-server-cert")
	}
	if s.Username != "" {
		argv = append(argv, "--username", s.Username)
	}
	c := modules.Cmd{}
	if s.Password != "" {
		argv = append(argv, "--password-from-stdin")
		c.Stdin, c.Secret = []byte(s.Password), true
	}
	c.Script = "LANG=C LC_ALL=C " + modules.Join(append(argv, args...)...)
	r, err := env.Host.Run(ctx, c)
	if err != nil {
		return "", false, err
	}
	return r.Stdout, r.RC == 0, nil
}

// must is svn that has to succeed.
func (s *Subversion) must(ctx context.Context, env *modules.Env, args ...string) (string, error) {
	out, ok, err := s.svn(ctx, env, args...)
	if err == nil && !ok {
		err = fmt.Errorf("svn %s failed", args[0])
	}
	return out, err
}

func (s *Subversion) revision(ctx context.Context, env *modules.Env, target string, extra ...string) (rev, url string, err error) {
	out, err := s.must(ctx, env, append(append([]string{"info"}, extra...), target)...)
	if err != nil {
		return "", "", err
	}
	rev, url = "Unable to get revision", "Unable to get URL"
	if m := svnRevision.FindString(out); m != "" {
		rev = m
	}
	if m := svnURL.FindString(out); m != "" {
		url = m
	}
	return rev, url, nil
}

// Run follows Ansible's main() step by step: what its check mode answers is
// the plan, what it does otherwise is Apply's.
func (s *Subversion) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	checkout, update, sw := s.Checkout == nil || *s.Checkout, s.Update == nil || *s.Update, s.Switch == nil || *s.Switch
	res := &modules.Result{Data: map[string]any{}}
	if !s.Export && !update && !checkout {
		rev, _, err := s.revision(ctx, env, s.Repo)
		res.Data["after"] = rev
		return res, err
	}
	st, err := modules.Stat(ctx, env.Host, s.Dest, false)
	if err != nil {
		return nil, err
	}
	// finish reads the working copy's revision after a change
	finish := func(ctx context.Context, before any, changed bool) error {
		if s.Export {
			res.Changed = true
			return nil
		}
		rev, url, err := s.revision(ctx, env, s.Dest)
		if err != nil {
			return err
		}
		res.Changed = changed
		res.Data["before"], res.Data["after"] = before, []any{rev, url}
		return nil
	}
	switch _, isRepo, _ := s.svn(ctx, env, "info", s.Dest); {
	case s.Export || !st.Exists:
		res.Changed = true // Ansible's check mode says so even with checkout: false
		res.Apply = func(ctx context.Context) error {
			if !s.Export && !checkout {
				res.Changed = false
				return nil
			}
			var err error
			if !s.Export {
				_, err = s.must(ctx, env, "checkout", "-r", s.Revision, s.Repo, s.Dest)
			} else {
				args := []string{"export"}
				if s.Force {
					args = append(args, "--force")
				}
				_, err = s.must(ctx, env, append(args, "-r", s.Revision, s.Repo, s.Dest)...)
			}
			if err != nil {
				return err
			}
			return finish(ctx, nil, true)
		}
	case isRepo:
		if !update {
			return res, nil
		}
		status, err := s.must(ctx, env, "status", "--quiet", "--ignore-externals", s.Dest)
		if err != nil {
			return nil, err
		}
		localMods := false
		for _, l := range strings.Split(status, "\n") {
			localMods = localMods || l != "" && l[0] != '?' && l[0] != 'X'
		}
		if localMods && !s.Force {
			return modules.Failf("ERROR: modified files exist in the repository."), nil
		}
		cur, url, err := s.revision(ctx, env, s.Dest)
		if err != nil {
			return nil, err
		}
		head, _, err := s.revision(ctx, env, s.Dest, "-r", s.Revision)
		if err != nil {
			return nil, err
		}
		num := func(r string) int { n, _ := strconv.Atoi(strings.TrimSpace(r[strings.Index(r, ":")+1:])); return n }
		// Ansible's check mode leaves out the revert that force makes: here
		// the plan names it, since the run will change those files
		res.Changed = localMods || strings.Contains(cur, ":") && strings.Contains(head, ":") && num(cur) < num(head)
		res.Data["before"], res.Data["after"] = cur, head
		// switch, revert and update run whatever the plan says (a switch to
		// another URL is not a newer revision); the run then says what changed
		res.Apply = func(ctx context.Context) error {
			filesChanged := false
			if sw {
				out, err := s.must(ctx, env, "switch", "--revision", s.Revision, s.Repo, s.Dest)
				if err != nil {
					return err
				}
				filesChanged = svnChanged.MatchString(out)
			}
			if localMods {
				out, err := s.must(ctx, env, "revert", "-R", s.Dest)
				if err != nil {
					return err
				}
				for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
					filesChanged = filesChanged || l != "" && !strings.HasPrefix(l, "Reverted ")
				}
			}
			out, err := s.must(ctx, env, "update", "-r", s.Revision, s.Dest)
			if err != nil {
				return err
			}
			return finish(ctx, []any{cur, url}, filesChanged || localMods || svnChanged.MatchString(out))
		}
	case s.InPlace:
		res.Changed = true
		res.Apply = func(ctx context.Context) error {
			if _, err := s.must(ctx, env, "checkout", "--force", "-r", s.Revision, s.Repo, s.Dest); err != nil {
				return err
			}
			return finish(ctx, nil, true)
		}
	default:
		return modules.Failf("ERROR: %s folder already exists, but its not a subversion repository.", s.Dest), nil
	}
	return res, nil
}

var _ modules.Validator = (*Subversion)(nil)

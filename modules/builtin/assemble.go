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

func init() {
	modules.Register(modules.Info{ID: "assemble", Summary: "Join the fragment files of a folder on the host into one file, in name order.",
		Example: "assemble:\n  src: /etc/app/conf.d\n  dest: /etc/app/app.conf", New: func() modules.Module { return &Assemble{} }})
}

// Assemble joins the files of a folder on the host into one file, in name
// order (Ansible's assemble with remote_src).
type Assemble struct {
	Src               string `yaml:"src" doc:"the folder of fragments on the host"`
	Dest              string `yaml:"dest" doc:"the file to write"`
	Delimiter         string `yaml:"delimiter" doc:"a line written between fragments"`
	Regexp            string `yaml:"regexp" doc:"only fragments whose name matches"`
	IgnoreHid         bool   `yaml:"ignore_hidden" doc:"leave out names starting with a dot"`
	RemoteSrc         *bool  `yaml:"remote_src" doc:"the fragments are on the host (the only kind runbook assembles)" default:"true"`
	modules.FileAttrs `yaml:",inline"`
}

// Validate checks the arguments.
func (a *Assemble) Validate() error {
	if a.Src == "" || a.Dest == "" {
		return errors.New("assemble: src and dest are required")
	}
	if a.RemoteSrc != nil && !*a.RemoteSrc {
		return errors.New("assemble: fragments on the machine running runbook are not supported (remote_src: false); copy them first")
	}
	if _, err := regexp.Compile(a.Regexp); err != nil {
		return fmt.Errorf("assemble: %v", err)
	}
	return nil
}

// Run reads the fragments and writes the whole.
func (a *Assemble) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	r, err := env.Host.Run(ctx, modules.Cmd{Script: "cd " + modules.Quote(a.Src) + " && for f in * .[!.]*; do [ -f \"$f\" ] && printf '%s\\0' \"$f\"; done; true"})
	if err != nil {
		return nil, err
	}
	if r.RC != 0 {
		return modules.Failf("assemble: %s: %s", a.Src, strings.TrimSpace(r.Stderr)), nil
	}
	var names []string
	for _, n := range strings.Split(r.Stdout, "\x00") {
		if n == "" || a.IgnoreHid && strings.HasPrefix(n, ".") {
			continue
		}
		if a.Regexp != "" && !regexp.MustCompile(a.Regexp).MatchString(n) {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	// as Ansible's: a newline after a fragment that lacks one, the
	// delimiter (with a newline) between fragments
	var b strings.Builder
	addNewline := false
	for i, n := range names {
		st, err := modules.Stat(ctx, env.Host, a.Src+"/"+n, true)
		if err != nil {
			return nil, err
		}
		if addNewline {
			b.WriteString("\n")
		}
		if i > 0 && a.Delimiter != "" {
			b.WriteString(a.Delimiter)
			if !strings.HasSuffix(a.Delimiter, "\n") {
				b.WriteString("\n")
			}
		}
		b.Write(st.Content)
		addNewline = !strings.HasSuffix(string(st.Content), "\n")
	}
	return modules.PutFile(ctx, env, a.Spec(a.Dest, []byte(b.String())))
}

var _ modules.Validator = (*Assemble)(nil)

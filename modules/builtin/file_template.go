package builtin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/runbook-lab/runbook/internal/inputfile"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/templates"
)

// FileTemplate renders a template (embedded in runbook, or a local file)
// with the host's variables and writes it like copy does.
type FileTemplate struct {
	Src               string `yaml:"src" doc:"template: a local file (found in the role's templates/, then next to the playbook) or an embedded one (see runbook show templates)"`
	Dest              string `yaml:"dest" doc:"path on the host"`
	modules.FileAttrs `yaml:",inline"`
	modules.SELinux   `yaml:",inline"`
	Force             *bool `yaml:"force" doc:"replace a file that differs (false: only create a missing file)" default:"true"`
}

func init() {
	modules.Register(modules.Info{ID: "file_template", Summary: "Render a Go template with the host's variables to a file, atomically; diff under --diff.",
		Example: "file_template:\n  src: pgpool.conf.tmpl\n  dest: /etc/pgpool2/pgpool.conf\n  mode: 0640", New: func() modules.Module { return &FileTemplate{} }})
}

// Validate checks that the template exists and parses.
func (t *FileTemplate) Validate() error {
	if t.Src == "" || t.Dest == "" {
		return errors.New("file_template: src and dest are required")
	}
	text, err := ReadTemplate(t.Src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // may be in a role's templates/: Run looks there
	}
	if err != nil {
		return err
	}
	if _, err := templates.Parse(t.Src, text); err != nil {
		return fmt.Errorf("file_template: %v", err)
	}
	return nil
}

// ReadTemplate finds a template: a local file first, then an embedded one.
func ReadTemplate(name string) (string, error) {
	b, err := inputfile.Read(name)
	if err == nil {
		return string(b), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	b, err = fs.ReadFile(templates.Files, "files/"+name)
	if err != nil {
		return "", fmt.Errorf("file_template: no template %q (neither a local file nor embedded): %w", name, fs.ErrNotExist)
	}
	return string(b), nil
}

// Run renders and writes.
func (t *FileTemplate) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	t.SELinux.Warn(env)
	src := modules.FindLocal(env, t.Src, "templates")
	text, err := ReadTemplate(src)
	if err != nil {
		return nil, err
	}
	if t.Mode.Preserve {
		// mode: preserve is the template file's own mode (0644 for an embedded one)
		perm := fs.FileMode(0o644)
		if info, err := os.Stat(src); err == nil {
			perm = info.Mode().Perm()
		}
		t.Mode = modules.Mode{Set: true, Perm: perm}
	}
	tmpl, err := templates.Parse(t.Src, text)
	if err != nil {
		return nil, err
	}
	out, err := templates.Execute(tmpl, env.Vars)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", t.Src, err)
	}
	spec := t.Spec(t.Dest, []byte(out))
	spec.KeepExisting = t.Force != nil && !*t.Force
	return modules.PutFile(ctx, env, spec)
}

var _ modules.Validator = (*FileTemplate)(nil)

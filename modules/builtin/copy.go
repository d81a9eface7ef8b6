package builtin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/runbook-lab/runbook/internal/inputfile"
	"github.com/runbook-lab/runbook/modules"
)

// Copy writes a file from inline content or a file on the controller,
// atomically, and only when content, mode or owner differ.
type Copy struct {
	Dest              string `yaml:"dest" doc:"path on the host (ending in / or naming a folder: the src file's name inside it)"`
	Content           string `yaml:"content" doc:"the file's text"`
	Src               string `yaml:"src" doc:"a file on the machine running runbook (found in the role's files/, then next to the playbook), or on the host with remote_src"`
	RemoteSrc         bool   `yaml:"remote_src" doc:"src is a file on the host"`
	modules.FileAttrs `yaml:",inline"`
	modules.SELinux   `yaml:",inline"`
	Force             *bool `yaml:"force" doc:"replace a file that differs (false: only create a missing file)" default:"true"`
}

func init() {
	modules.Register(modules.Info{ID: "copy", Summary: "Write a file from content or a local file, atomically; diff under --diff.",
		Example: "copy:\n  dest: /etc/motd\n  content: \"lab host\\n\"\n  mode: 0644", New: func() modules.Module { return &Copy{} }})
}

// Validate checks the arguments.
func (c *Copy) Validate() error {
	if c.Dest == "" {
		return errors.New("copy: dest is required")
	}
	if c.Src != "" && c.Content != "" {
		return errors.New("copy: give content or src, not both")
	}
	return nil
}

// Run writes the file when it differs.
func (c *Copy) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	c.SELinux.Warn(env)
	data := []byte(c.Content)
	dest := c.Dest
	switch {
	case c.Src != "" && c.RemoteSrc:
		st, err := modules.Stat(ctx, env.Host, c.Src, true)
		if err != nil {
			return nil, err
		}
		if !st.Exists || st.IsDir {
			return modules.Failf("copy: src %s is not a file on the host", c.Src), nil
		}
		data = st.Content
		if c.Mode.Preserve {
			c.Mode = modules.Mode{Set: true, Perm: st.Mode}
		}
	case c.Src != "":
		path := modules.FindLocal(env, c.Src, "files")
		info, err := os.Stat(path)
		if err == nil && info.IsDir() {
			return modules.Failf("copy: src %s is a folder (runbook copies one file per task; use a loop)", c.Src), nil
		}
		b, err := inputfile.Read(path)
		if err != nil {
			return nil, fmt.Errorf("copy: src: %w", err)
		}
		data = b
		if c.Mode.Preserve && info != nil {
			c.Mode = modules.Mode{Set: true, Perm: info.Mode().Perm()}
		}
	}
	if c.Mode.Preserve && !c.Mode.Set {
		return modules.Failf("copy: mode preserve takes the source file's mode: give src"), nil
	}
	if c.Src != "" && strings.HasSuffix(dest, "/") {
		dest += filepath.Base(c.Src)
	} else if c.Src != "" {
		if st, err := modules.Stat(ctx, env.Host, dest, false); err == nil && st.IsDir {
			dest = strings.TrimSuffix(dest, "/") + "/" + filepath.Base(c.Src)
		}
	}
	spec := c.Spec(dest, data)
	spec.KeepExisting = c.Force != nil && !*c.Force
	return modules.PutFile(ctx, env, spec)
}

var _ modules.Validator = (*Copy)(nil)

package builtin

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/runbook-lab/runbook/modules"
)

// Copy writes a file from inline content or a file on the controller,
// atomically, and only when content, mode or owner differ.
type Copy struct {
	Dest    string       `yaml:"dest" doc:"path on the host"`
	Content string       `yaml:"content" doc:"the file's text"`
	Src     string       `yaml:"src" doc:"a file on the machine running runbook (instead of content)"`
	Mode    modules.Mode `yaml:"mode" doc:"octal mode such as 0644 (default 0644 for a new file, else kept)"`
	Owner   string       `yaml:"owner" doc:"owner (default: kept, or the connecting user)"`
	Group   string       `yaml:"group" doc:"group"`
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
	data := []byte(c.Content)
	if c.Src != "" {
		b, err := os.ReadFile(c.Src)
		if err != nil {
			return nil, fmt.Errorf("copy: src: %w", err)
		}
		data = b
	}
	return modules.PutFile(ctx, env, modules.FileSpec{Path: c.Dest, Data: data, Mode: c.Mode, Owner: c.Owner, Group: c.Group})
}

var _ modules.Validator = (*Copy)(nil)

package modules

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
)

// Copy writes a file from inline content or a file on the controller,
// atomically, and only when content, mode or owner differ.
type Copy struct {
	Dest    string `yaml:"dest" doc:"path on the host"`
	Content string `yaml:"content" doc:"the file's text"`
	Src     string `yaml:"src" doc:"a file on the machine running runbook (instead of content)"`
	Mode    Mode   `yaml:"mode" doc:"octal mode such as 0644 (default 0644 for a new file, else kept)"`
	Owner   string `yaml:"owner" doc:"owner (default: kept, or the connecting user)"`
	Group   string `yaml:"group" doc:"group"`
}

func init() {
	register(Info{ID: "copy", Summary: "Write a file from content or a local file, atomically; diff under --diff.",
		Example: "copy:\n  dest: /etc/motd\n  content: \"lab host\\n\"\n  mode: 0644", New: func() Module { return &Copy{} }})
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
func (c *Copy) Run(ctx context.Context, env *Env) (*Result, error) {
	data := []byte(c.Content)
	if c.Src != "" {
		b, err := os.ReadFile(c.Src)
		if err != nil {
			return nil, fmt.Errorf("copy: src: %w", err)
		}
		data = b
	}
	return PutFile(ctx, env, FileSpec{Path: c.Dest, Data: data, Mode: c.Mode, Owner: c.Owner, Group: c.Group})
}

// FileSpec is a file's wanted content and attributes.
type FileSpec struct {
	Path         string
	Data         []byte
	Mode         Mode
	Owner, Group string
	Secret       bool // never shown in a diff
}

// PutFile brings a file to spec: reads it first (one round trip), reports
// the difference, and in apply mode writes it atomically. Shared by copy,
// file_template, lineinfile and the PostgreSQL config modules.
func PutFile(ctx context.Context, env *Env, spec FileSpec) (*Result, error) {
	st, err := Stat(ctx, env.Host, spec.Path, true)
	if err != nil {
		return nil, err
	}
	if st.IsDir {
		return nil, fmt.Errorf("%s is a directory", spec.Path)
	}
	mode := spec.Mode.Perm
	if !spec.Mode.Set {
		mode = 0o644
		if st.Exists {
			mode = st.Mode
		}
	}
	owner, group := spec.Owner, spec.Group
	// Rewriting a file keeps its owner unless told otherwise (the new file
	// would else belong to whoever runs the command).
	keepOwner := st.Exists && owner == "" && group == ""
	contentChanged := !st.Exists || !bytes.Equal(st.Content, spec.Data)
	attrChanged := st.Exists && (mode != st.Mode || (owner != "" && owner != st.Owner) || (group != "" && group != st.Group))
	res := &Result{Data: map[string]any{"path": spec.Path}}
	if !contentChanged && !attrChanged {
		return res, nil
	}
	res.Changed = true
	if env.Diff {
		d := Diff{Path: spec.Path, Before: string(st.Content), After: string(spec.Data)}
		if spec.Secret {
			d.Before, d.After = "(secret content hidden)\n", "(secret content changed)\n"
			if !contentChanged {
				d.After = d.Before
			}
		}
		if attrChanged {
			d.Before += fmt.Sprintf("# mode %04o owner %s:%s\n", st.Mode, st.Owner, st.Group)
			d.After += fmt.Sprintf("# mode %04o owner %s:%s\n", mode, or(owner, st.Owner), or(group, st.Group))
		}
		res.Diffs = append(res.Diffs, d)
	}
	if env.Check {
		return res, nil
	}
	if keepOwner {
		owner, group = st.Owner, st.Group
	}
	if err := WriteFile(ctx, env.Host, spec.Path, spec.Data, mode, owner, group, spec.Secret); err != nil {
		return nil, err
	}
	return res, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

var _ Validator = (*Copy)(nil)

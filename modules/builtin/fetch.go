package builtin

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// Fetch copies a file from the host to the machine running runbook (as
// Ansible's fetch), atomically and only when it differs; 0600 by default,
// since what is fetched is often a key.
type Fetch struct {
	Src  string       `yaml:"src" doc:"the file on the host"`
	Dest string       `yaml:"dest" doc:"where it goes on the machine running runbook"`
	Mode modules.Mode `yaml:"mode" doc:"the local file's mode (default 0600)"`
}

func init() {
	modules.Register(modules.Info{ID: "fetch", Summary: "Copy a file from the host to the machine running runbook (atomically, only when it differs; 0600 by default).",
		Example: "fetch:\n  src: /var/lib/runbook/lab/id_ed25519\n  dest: /root/.cache/runbook/lab/id_ed25519", New: func() modules.Module { return &Fetch{} }})
}

// Validate checks the arguments.
func (f *Fetch) Validate() error {
	if f.Src == "" || f.Dest == "" {
		return errors.New("fetch: src and dest are required")
	}
	return nil
}

// Run copies the file when the local copy differs. The content travels
// base64-encoded, so any file survives the command's output.
func (f *Fetch) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	r, err := env.Host.Run(ctx, modules.Cmd{Script: "base64 -w0 < " + modules.Quote(f.Src)})
	if err != nil {
		return nil, err
	}
	if r.RC != 0 {
		if env.Check {
			return &modules.Result{Changed: true, Msg: "would fetch " + f.Src + " (not there yet)"}, nil
		}
		return modules.Failf("fetch: %s: %s", f.Src, strings.TrimSpace(r.Stderr)), nil
	}
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(r.Stdout))
	if err != nil {
		return nil, fmt.Errorf("fetch: %s: %w", f.Src, err)
	}
	mode := os.FileMode(0o600)
	if f.Mode.Set {
		mode = f.Mode.Perm
	}
	res := &modules.Result{Data: map[string]any{"dest": f.Dest}}
	cur, err := os.ReadFile(f.Dest)
	st, statErr := os.Stat(f.Dest)
	if err == nil && bytes.Equal(cur, data) && statErr == nil && st.Mode().Perm() == mode {
		return res, nil
	}
	res.Changed, res.Msg = true, "fetch "+f.Src+" to "+f.Dest
	if env.Check {
		return res, nil
	}
	if err := os.MkdirAll(filepath.Dir(f.Dest), 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.Dest), ".fetch-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	return res, os.Rename(tmp.Name(), f.Dest)
}

var _ modules.Validator = (*Fetch)(nil)

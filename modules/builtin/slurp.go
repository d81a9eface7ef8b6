package builtin

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "slurp", Summary: "Read a file from the host, base64-encoded as content (register it; b64decode reads it).",
		Example: "slurp:\n  src: /etc/hostname\nregister: hn", New: func() modules.Module { return &Slurp{} }})
}

// Slurp reads a file from the host, base64-encoded (Ansible's slurp).
type Slurp struct {
	Src string `yaml:"src" aliases:"path" doc:"the file on the host"`
}

// Validate needs src.
func (s *Slurp) Validate() error {
	if s.Src == "" {
		return errors.New("slurp: src is required")
	}
	return nil
}

// Run reads the file.
func (s *Slurp) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	q := modules.Quote(s.Src)
	r, err := env.Host.Run(ctx, modules.Cmd{Script: modules.RefuseSpecial(q) +
		// (RefuseSpecial set rb_path: the path never goes into a command substitution's text)
		fmt.Sprintf(`[ -d "$rb_path" ] || [ "$(stat -L -c %%s -- "$rb_path" 2>/dev/null || echo 0)" -le %d ] || { echo 'over %d MiB: slurp reads it into a variable (fetch copies big files)' >&2; exit 4; }`+"\n", modules.MaxEditSize, modules.MaxEditSize>>20) +
		"base64 -w0 < " + q})
	if err != nil {
		return nil, err
	}
	if r.RC != 0 {
		return modules.Failf("slurp %s: %s", s.Src, strings.TrimSpace(r.Stderr)), nil
	}
	content := strings.TrimSpace(r.Stdout)
	if _, err := base64.StdEncoding.DecodeString(content); err != nil {
		return nil, fmt.Errorf("slurp %s: bad base64 from the host", s.Src)
	}
	return &modules.Result{Data: map[string]any{"content": content, "encoding": "base64", "source": s.Src}}, nil
}

package builtin

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// Fetch copies a file from the host to the machine running runbook, laid
// out as Ansible's fetch lays it out: dest/<inventory_hostname>/<src>, or
// with flat the file itself (dest, or dest/<basename> when dest ends in /).
// It writes atomically and only when the copy differs; the local file is
// 0600 unless mode says otherwise, since what is fetched is often a key
// (Ansible leaves it to the umask).
type Fetch struct {
	Src           string       `yaml:"src" doc:"the file on the host (not a folder)"`
	Dest          string       `yaml:"dest" doc:"a folder on the machine running runbook (the file goes to dest/<host>/<src>), or with flat the file (dest/<basename of src> when dest ends in /); relative to the playbook's folder"`
	Flat          bool         `yaml:"flat" doc:"dest is the file itself, not a folder per host"`
	FailOnMissing *bool        `yaml:"fail_on_missing" doc:"fail when src is not there (default true); false: ok and unchanged" default:"true"`
	ValidateSum   *bool        `yaml:"validate_checksum" doc:"check the copy's checksum against the host's (default true)" default:"true"`
	Mode          modules.Mode `yaml:"mode" doc:"the local file's mode (default 0600)"`
}

func init() {
	modules.Register(modules.Info{ID: "fetch", Summary: "Copy a file from the host to the machine running runbook, as Ansible's fetch lays it out (dest/<host>/<src>, or flat); atomically, only when it differs; 0600 by default.",
		Example: "fetch:\n  src: /var/lib/runbook/lab/id_ed25519\n  dest: /root/.cache/runbook/lab/id_ed25519\n  flat: true", New: func() modules.Module { return &Fetch{} }})
}

// Validate checks the arguments.
func (f *Fetch) Validate() error {
	if f.Src == "" || f.Dest == "" {
		return errors.New("fetch: src and dest are required")
	}
	return nil
}

// localPath is where the copy goes, by Ansible's rules.
func (f *Fetch) localPath(vars map[string]any) string {
	dest := f.Dest
	if !filepath.IsAbs(dest) {
		if dir, _ := vars["playbook_dir"].(string); dir != "" {
			dest = filepath.Join(dir, dest)
		}
	}
	if f.Flat {
		if strings.HasSuffix(f.Dest, "/") {
			return filepath.Join(dest, path.Base(f.Src))
		}
		return filepath.Clean(dest)
	}
	host, _ := vars["inventory_hostname"].(string)
	return filepath.Join(dest, host, filepath.FromSlash(path.Clean("/"+f.Src)))
}

// Run copies the file when the local copy differs. The content travels
// base64-encoded, so any file survives the command's output.
func (f *Fetch) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	dest := f.localPath(env.Vars)
	src := modules.Quote(f.Src)
	r, err := env.Host.Run(ctx, modules.Cmd{Script: modules.RefuseSpecial(src) + "if [ -d " + src + " ]; then echo 'is a directory' >&2; exit 3; fi; sha1sum < " + src + " | cut -c1-40 && base64 -w0 < " + src})
	if err != nil {
		return nil, err
	}
	if r.RC != 0 {
		why := strings.TrimSpace(r.Stderr)
		switch {
		case r.RC == 3:
			return modules.Failf("fetch: %s: the file on the host is a directory; fetch copies files", f.Src), nil
		case r.RC == 4:
			return modules.Failf("fetch: %s", why), nil
		case f.FailOnMissing != nil && !*f.FailOnMissing:
			return &modules.Result{Msg: "the remote file does not exist, not transferring, ignored", Data: map[string]any{"file": f.Src, "dest": dest}}, nil
		}
		// the plan: fetch it (a task before this one, not applied in check
		// mode, may be what makes it); applying a plan to fetch a file that
		// is still missing fails
		res := &modules.Result{Changed: true, Msg: "would fetch " + f.Src + " (not there yet)", Data: map[string]any{"dest": dest}}
		res.Then(func(context.Context) error {
			*res = *modules.Failf("fetch: %s: %s", f.Src, why)
			return nil
		})
		return res, nil
	}
	remoteSum, encoded, _ := strings.Cut(strings.TrimSpace(r.Stdout), "\n")
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return nil, fmt.Errorf("fetch: %s: %w", f.Src, err)
	}
	mode := os.FileMode(0o600)
	if f.Mode.Set {
		mode = f.Mode.For(mode, false)
	}
	sum := sha1.Sum(data)
	md := md5.Sum(data)
	res := &modules.Result{Data: map[string]any{"dest": dest, "checksum": hex.EncodeToString(sum[:]),
		"remote_checksum": remoteSum, "md5sum": hex.EncodeToString(md[:])}}
	if (f.ValidateSum == nil || *f.ValidateSum) && remoteSum != hex.EncodeToString(sum[:]) {
		return modules.Failf("fetch: %s: what arrived does not match the host's checksum (%s)", f.Src, remoteSum), nil
	}
	cur, err := os.ReadFile(dest)
	st, statErr := os.Stat(dest)
	if err == nil && bytes.Equal(cur, data) && statErr == nil && st.Mode().Perm() == mode {
		return res, nil
	}
	res.Changed, res.Msg = true, "fetch "+f.Src+" to "+dest
	res.Then(func(ctx context.Context) error {
		return writeLocal(dest, data, mode)
	})
	return res, nil
}

// writeLocal writes a file on this machine atomically (a temporary file
// in the same folder, renamed over the old one).
func writeLocal(dest string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dest), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), ".fetch-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dest)
}

var _ modules.Validator = (*Fetch)(nil)

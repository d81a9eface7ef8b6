package builtin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// Mount keeps a filesystem's line in fstab and its mount state (Ansible's
// mount, ansible.posix.mount).
type Mount struct {
	Path   string `yaml:"path" aliases:"name" doc:"the mount point"`
	Src    string `yaml:"src" doc:"the device, UUID=..., LABEL=... or remote path"`
	Fstype string `yaml:"fstype" doc:"the filesystem type (ext4, xfs, nfs, tmpfs...)"`
	Opts   string `yaml:"opts" doc:"mount options" default:"defaults"`
	Dump   string `yaml:"dump" doc:"the dump field" default:"0"`
	Passno string `yaml:"passno" doc:"the fsck pass field" default:"0"`
	State  string `yaml:"state" doc:"mounted, present (fstab only), unmounted, absent, absent_from_fstab or remounted"`
	Fstab  string `yaml:"fstab" doc:"the fstab file" default:"/etc/fstab"`
	Boot   *bool  `yaml:"boot" doc:"mount at boot (false adds noauto)" default:"true"`
}

func init() {
	modules.Register(modules.Info{ID: "mount", Summary: "Keep a filesystem in fstab and mounted (or unmounted, or gone).",
		Example: "mount:\n  path: /var/lib/postgresql\n  src: /dev/vdb\n  fstype: ext4\n  opts: noatime\n  state: mounted", New: func() modules.Module { return &Mount{} }})
}

// Validate checks the arguments.
func (m *Mount) Validate() error {
	if m.Path == "" {
		return errors.New("mount: path is required")
	}
	switch m.State {
	case "mounted", "present":
		if m.Src == "" || m.Fstype == "" {
			return fmt.Errorf("mount: state %s needs src and fstype", m.State)
		}
	case "unmounted", "absent", "absent_from_fstab", "remounted":
	default:
		return fmt.Errorf("mount: state must be mounted, present, unmounted, absent, absent_from_fstab or remounted, got %q", m.State)
	}
	for _, f := range []string{m.Path, m.Src, m.Fstype, m.Opts, m.Dump, m.Passno} {
		if strings.ContainsAny(f, " \t\n") {
			return fmt.Errorf("mount: %q: fstab fields cannot hold spaces", f)
		}
	}
	return nil
}

// EditFstab puts the mount's line in fstab text (or removes it), as
// Ansible's: a line for the same mount point is rewritten in place.
func (m *Mount) EditFstab(text string) string {
	opts := m.Opts
	if m.Boot != nil && !*m.Boot && !strings.Contains(opts, "noauto") {
		opts += ",noauto"
	}
	want := strings.Join([]string{m.Src, m.Path, m.Fstype, opts, m.Dump, m.Passno}, " ")
	ls := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if text == "" {
		ls = nil
	}
	var out []string
	found := false
	for _, l := range ls {
		f := strings.Fields(l)
		if len(f) < 2 || strings.HasPrefix(strings.TrimSpace(l), "#") || f[1] != m.Path {
			out = append(out, l)
			continue
		}
		found = true
		if m.State == "absent" || m.State == "absent_from_fstab" {
			continue
		}
		if m.State != "mounted" && m.State != "present" {
			out = append(out, l)
			continue
		}
		have := append(f, "0", "0")[:6]
		if strings.Join(have, " ") == want {
			out = append(out, l) // the same fields: keep its spacing
		} else {
			out = append(out, want)
		}
	}
	if !found && (m.State == "mounted" || m.State == "present") {
		out = append(out, want)
	}
	return joinLines(out)
}

// Run edits fstab and mounts or unmounts.
func (m *Mount) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	st, err := modules.Stat(ctx, env.Host, m.Fstab, true)
	if err != nil {
		return nil, err
	}
	res := &modules.Result{Data: map[string]any{"name": m.Path}}
	if m.State != "unmounted" && m.State != "remounted" {
		text := m.EditFstab(string(st.Content))
		if text != string(st.Content) {
			put, err := modules.PutFile(ctx, env, modules.FileSpec{Path: m.Fstab, Data: []byte(text)})
			if err != nil {
				return nil, err
			}
			res.Changed, res.Diffs = put.Changed, put.Diffs
			res.Then(put.Apply)
		}
	}
	if m.State == "present" || m.State == "absent_from_fstab" {
		return res, nil
	}
	p := modules.Quote(m.Path)
	r, err := env.Host.Run(ctx, modules.Cmd{Script: "findmnt -n -o SOURCE,OPTIONS --mountpoint " + p})
	if err != nil {
		return nil, err
	}
	mounted := r.RC == 0 && strings.TrimSpace(r.Stdout) != ""
	var cmd string
	switch m.State {
	case "mounted":
		switch {
		case !mounted:
			cmd = "mkdir -p " + p + " && mount " + p
			if m.Fstab != "/etc/fstab" {
				cmd = "mkdir -p " + p + " && mount -t " + modules.Quote(m.Fstype) + " -o " + modules.Quote(m.Opts) + " " + modules.Quote(m.Src) + " " + p
			}
		case res.Changed:
			cmd = "mount -o remount " + p // the options in fstab changed
		}
	case "unmounted", "absent":
		if mounted {
			cmd = "umount " + p
		}
		if m.State == "absent" {
			if cmd != "" {
				cmd += " && "
			}
			cmd += "rmdir " + p + " 2>/dev/null || true"
		}
	case "remounted":
		cmd = "mount -o remount " + p
	}
	if cmd == "" {
		return res, nil
	}
	if strings.HasPrefix(cmd, "rmdir") {
		s, err := modules.Stat(ctx, env.Host, m.Path, false)
		if err != nil || !s.Exists {
			return res, err
		}
	}
	res.Changed = true
	res.Then(func(ctx context.Context) error {
		r, err = env.Host.Run(ctx, modules.Cmd{Script: cmd})
		if err != nil {
			return err
		}
		if r.RC != 0 {
			*res = *modules.Failf("mount %s: %s", m.Path, strings.TrimSpace(r.Stderr))
		}
		return nil
	})
	return res, nil
}

var _ modules.Validator = (*Mount)(nil)

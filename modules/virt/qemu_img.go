package virt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// QemuImg creates and grows disk images, reading `qemu-img info` first.
type QemuImg struct {
	Path          string `yaml:"path" doc:"the image file"`
	Format        string `yaml:"format" doc:"image format" default:"qcow2"`
	Size          string `yaml:"size" doc:"virtual size: 10G, 512M, or bytes"`
	BackingFile   string `yaml:"backing_file" doc:"base image for a copy-on-write overlay"`
	BackingFormat string `yaml:"backing_format" doc:"the base image's format" default:"qcow2"`
	State         string `yaml:"state" doc:"present (create, grow) or info (read only)" default:"present"`
	Shrink        bool   `yaml:"shrink" doc:"allow making the disk smaller (data past the end is lost)"`
}

func init() {
	modules.Register(modules.Info{ID: "qemu_img", Summary: "Create a qcow2 disk or overlay, grow it (shrink only when told), or read its info; never rewrites a disk in use.",
		Example: "qemu_img:\n  path: /var/lib/libvirt/images/postgres1.qcow2\n  backing_file: /var/lib/libvirt/images/base.qcow2\n  size: 10G",
		New:     func() modules.Module { return &QemuImg{Format: "qcow2", BackingFormat: "qcow2", State: "present"} }})
}

// Validate checks the arguments.
func (q *QemuImg) Validate() error {
	if q.Path == "" {
		return errors.New("qemu_img: path is required")
	}
	if q.State != "present" && q.State != "info" {
		return fmt.Errorf("qemu_img: state must be present or info, got %q", q.State)
	}
	if q.State == "present" && q.Size == "" && q.BackingFile == "" {
		return errors.New("qemu_img: give size, or backing_file for an overlay of the same size")
	}
	if q.Size != "" {
		if _, err := ParseSize(q.Size); err != nil {
			return fmt.Errorf("qemu_img: %v", err)
		}
	}
	return nil
}

// ParseSize reads 10G, 512M, 1T, 4096 (bytes) as qemu-img does (powers of 1024).
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	if n := len(s); n > 0 {
		switch strings.ToUpper(s[n-1:]) {
		case "K":
			mult = 1 << 10
		case "M":
			mult = 1 << 20
		case "G":
			mult = 1 << 30
		case "T":
			mult = 1 << 40
		}
		if mult > 1 {
			s = s[:n-1]
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("size %q: expected a number with K, M, G or T", s)
	}
	return int64(v * float64(mult)), nil
}

// CreateArgs is the qemu-img create command line (pure, table-tested).
func (q *QemuImg) CreateArgs() []string {
	args := []string{"qemu-img", "create", "-q", "-f", q.Format}
	if q.BackingFile != "" {
		args = append(args, "-b", q.BackingFile, "-F", q.BackingFormat)
	}
	args = append(args, q.Path)
	if q.Size != "" {
		args = append(args, q.Size)
	}
	return args
}

// ImageInfo is what qemu-img info says.
type ImageInfo struct {
	Format      string `json:"format"`
	VirtualSize int64  `json:"virtual-size"`
	BackingFile string `json:"backing-filename"`
}

// Run creates or grows the image.
func (q *QemuImg) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	// -U reads an image a running VM holds; the lock probe below tells
	// whether it is in use.
	r, err := env.Host.Run(ctx, modules.Cmd{Script: "[ -e " + modules.Quote(q.Path) + " ] || { echo absent; exit 0; }\n" + modules.Join("qemu-img", "info", "-U", "--output=json", q.Path)})
	if err != nil {
		return nil, err
	}
	if r.RC != 0 {
		return nil, fmt.Errorf("qemu-img info %s: %s", q.Path, strings.TrimSpace(r.Stderr))
	}
	res := &modules.Result{Data: map[string]any{"path": q.Path}}
	if strings.TrimSpace(r.Stdout) == "absent" {
		if q.State == "info" {
			return modules.Failf("%s does not exist", q.Path), nil
		}
		res.Changed, res.Msg = true, "create "+q.Path
		res.Then(func(ctx context.Context) error {
			_, err := modules.RunOK(ctx, env.Host, modules.Join(q.CreateArgs()...), "qemu-img create")
			return err
		})
		return res, nil
	}
	var info ImageInfo
	if err := json.Unmarshal([]byte(r.Stdout), &info); err != nil {
		return nil, fmt.Errorf("qemu-img info %s: %w", q.Path, err)
	}
	res.Data["format"], res.Data["virtual_size"], res.Data["backing_file"] = info.Format, info.VirtualSize, info.BackingFile
	if q.State == "info" || q.Size == "" {
		return res, nil
	}
	if info.Format != q.Format {
		return modules.Failf("%s is %s, not %s: not converting an existing disk", q.Path, info.Format, q.Format), nil
	}
	want, _ := ParseSize(q.Size)
	if want == info.VirtualSize {
		return res, nil
	}
	if want < info.VirtualSize && !q.Shrink {
		return modules.Failf("%s is %d bytes, larger than %s: shrinking loses data (shrink: true to allow)", q.Path, info.VirtualSize, q.Size), nil
	}
	// a disk a VM holds open must not be rewritten under it
	lock, err := env.Host.Run(ctx, modules.Cmd{Script: modules.Join("qemu-img", "info", q.Path) + " >/dev/null"})
	if err != nil {
		return nil, err
	}
	if lock.RC != 0 && strings.Contains(lock.Stderr, "lock") {
		return modules.Failf("%s is in use (a running VM holds it): not resizing", q.Path), nil
	}
	res.Changed = true
	res.Msg = fmt.Sprintf("resize %s from %d to %d bytes", q.Path, info.VirtualSize, want)
	if env.Diff {
		res.Diffs = []modules.Diff{{Path: q.Path, Before: fmt.Sprintf("virtual-size: %d\n", info.VirtualSize), After: fmt.Sprintf("virtual-size: %d\n", want)}}
	}
	res.Then(func(ctx context.Context) error {
		args := []string{"qemu-img", "resize", "-q"}
		if want < info.VirtualSize {
			args = append(args, "--shrink")
		}
		if _, err := modules.RunOK(ctx, env.Host, modules.Join(append(args, q.Path, strconv.FormatInt(want, 10))...), "qemu-img resize"); err != nil {
			return err
		}
		return nil
	})
	return res, nil
}

var _ modules.Validator = (*QemuImg)(nil)

package virt_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/modules"

	"github.com/runbook-lab/runbook/internal/testrig/testenv"
	"github.com/runbook-lab/runbook/modules/virt"
)

func TestQemuImgArgs(t *testing.T) {
	q := &virt.QemuImg{Path: "/d/vm.qcow2", Format: "qcow2", Size: "10G", BackingFile: "/d/base.qcow2", BackingFormat: "qcow2"}
	want := []string{"qemu-img", "create", "-q", "-f", "qcow2", "-b", "/d/base.qcow2", "-F", "qcow2", "/d/vm.qcow2", "10G"}
	if got := q.CreateArgs(); !reflect.DeepEqual(got, want) {
		t.Errorf("%q", got)
	}
	for in, want := range map[string]int64{"10G": 10 << 30, "512M": 512 << 20, "4096": 4096, "1.5G": 3 << 29} {
		if got, err := virt.ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%s) = %d, %v", in, got, err)
		}
	}
	if _, err := virt.ParseSize("ten"); err == nil {
		t.Error("bad size accepted")
	}
}

// Real qemu-img: a base, an overlay on it, growth, refused shrink, re-run
// without change, check mode that touches nothing.
func TestQemuImgForReal(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	if _, err := exec.LookPath("qemu-img"); err != nil {
		testenv.SkipOrFail(t, "no qemu-img (apt-get install qemu-utils)")
	}
	ctx := context.Background()
	dir := t.TempDir()
	base := filepath.Join(dir, "base.qcow2")
	vm := filepath.Join(dir, "vm.qcow2")
	mk := func(path, size, backing string) *virt.QemuImg {
		return &virt.QemuImg{Path: path, Format: "qcow2", Size: size, BackingFile: backing, BackingFormat: "qcow2", State: "present"}
	}
	if r, err := modules.Execute(ctx, mk(base, "1G", ""), env(t, false)); err != nil || !r.Changed {
		t.Fatalf("base: %+v %v", r, err)
	}
	if r, err := modules.Execute(ctx, mk(vm, "2G", base), env(t, true)); err != nil || !r.Changed {
		t.Fatalf("overlay check: %+v %v", r, err)
	}
	if out, _ := exec.Command("ls", dir).Output(); strings.Contains(string(out), "vm.qcow2") {
		t.Fatal("check mode created the overlay")
	}
	if r, err := modules.Execute(ctx, mk(vm, "2G", base), env(t, false)); err != nil || !r.Changed {
		t.Fatalf("overlay: %+v %v", r, err)
	}
	r, err := modules.Execute(ctx, mk(vm, "2G", base), env(t, false))
	if err != nil || r.Changed || r.Data["backing_file"] != base || r.Data["virtual_size"] != int64(2<<30) {
		t.Fatalf("second run: %+v %v", r, err)
	}
	if r, err := modules.Execute(ctx, mk(vm, "3G", base), env(t, false)); err != nil || !r.Changed {
		t.Fatalf("grow: %+v %v", r, err)
	}
	if r, _ := modules.Execute(ctx, mk(vm, "1G", base), env(t, false)); !r.Failed || !strings.Contains(r.Msg, "shrinking loses data") {
		t.Errorf("shrink: %+v", r)
	}
	info := &virt.QemuImg{Path: vm, State: "info", Format: "qcow2"}
	if r, _ := modules.Execute(ctx, info, env(t, false)); r.Data["virtual_size"] != int64(3<<30) {
		t.Errorf("info: %+v", r.Data)
	}
}

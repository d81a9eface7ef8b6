package virt

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/digitalocean/go-libvirt"
	"github.com/runbook-lab/runbook/modules"
	"libvirt.org/go/libvirtxml"
)

// VirtInstall manages a libvirt domain: defined from its arguments, started,
// and watched for a few seconds so that a guest that dies at start (KVM that
// cannot run it) is reported, or, with virt_type auto, started again under
// software emulation.
type VirtInstall struct {
	URI       string `yaml:"uri" doc:"libvirt connection URI" default:"qemu:///system"`
	Socket    string `yaml:"socket" doc:"libvirtd's socket on the host" default:"/run/libvirt/libvirt-sock"`
	Name      string `yaml:"name" doc:"domain name"`
	Memory    string `yaml:"memory" doc:"memory: 2G, 1024M, or MiB" default:"1G"`
	VCPUs     int    `yaml:"vcpus" doc:"virtual CPUs" default:"1"`
	Disk      string `yaml:"disk" doc:"the system disk (qcow2), attached as vda"`
	Seed      string `yaml:"seed" doc:"a cloud-init NoCloud seed image, attached read-only as vdb"`
	Network   string `yaml:"network" doc:"libvirt network the guest's NIC joins"`
	MAC       string `yaml:"mac" doc:"the NIC's fixed MAC (so a DHCP reservation gives a known address)"`
	VirtType  string `yaml:"virt_type" doc:"kvm, qemu (software emulation, TCG) or auto (KVM when it runs the guest, else qemu with a warning)" default:"auto"`
	TCGVCPUs  int    `yaml:"tcg_vcpus" doc:"vCPUs under software emulation (qemu), where each vCPU costs a host thread (default: vcpus)"`
	TBCacheMB int    `yaml:"tb_cache_mb" doc:"TCG translation cache (MiB) under qemu; QEMU's default takes about 1 GiB per guest" default:"128"`
	Kernel    string `yaml:"kernel" doc:"direct kernel boot: the kernel on the hypervisor"`
	Initrd    string `yaml:"initrd" doc:"direct kernel boot: the initrd"`
	Cmdline   string `yaml:"cmdline" doc:"direct kernel boot: the kernel command line"`
	Autostart *bool  `yaml:"autostart" doc:"start with libvirtd"`
	State     string `yaml:"state" doc:"running, shutoff, present (defined) or absent" default:"running"`
	Watch     int    `yaml:"watch" doc:"seconds to watch a freshly started guest for an early death" default:"8"`
}

func init() {
	modules.Register(modules.Info{ID: "virt_install", Summary: "A libvirt VM (memory, vCPUs, disk, cloud-init seed, NIC with a fixed MAC, kvm/qemu/auto, direct kernel boot), compared field by field; a guest that dies at start is detected.",
		Example: "virt_install:\n  name: postgres1\n  memory: 2G\n  vcpus: 2\n  disk: /var/lib/libvirt/images/postgres1.qcow2\n  seed: /var/lib/libvirt/images/postgres1-seed.iso\n  network: internal-net\n  mac: \"52:54:00:00:00:11\"",
		New: func() modules.Module {
			return &VirtInstall{URI: "qemu:///system", Socket: "/run/libvirt/libvirt-sock", Memory: "1G", VCPUs: 1,
				VirtType: "auto", TBCacheMB: 128, State: "running", Watch: 8}
		}})
}

// Validate checks the arguments.
func (v *VirtInstall) Validate() error {
	if v.Name == "" {
		return errors.New("virt_install: name is required")
	}
	switch v.State {
	case "running", "shutoff", "present", "absent":
	default:
		return fmt.Errorf("virt_install: state must be running, shutoff, present or absent, got %q", v.State)
	}
	switch v.VirtType {
	case "kvm", "qemu", "auto":
	default:
		return fmt.Errorf("virt_install: virt_type must be kvm, qemu or auto, got %q", v.VirtType)
	}
	if v.State == "absent" {
		return nil
	}
	if v.Disk == "" {
		return errors.New("virt_install: disk is required")
	}
	if _, err := ParseSize(v.Memory); err != nil {
		return fmt.Errorf("virt_install: memory: %v", err)
	}
	if v.Kernel == "" && (v.Initrd != "" || v.Cmdline != "") {
		return errors.New("virt_install: initrd and cmdline need kernel")
	}
	if v.VCPUs < 1 {
		return errors.New("virt_install: vcpus must be at least 1")
	}
	return nil
}

func (v *VirtInstall) memoryMiB() uint {
	n, _ := ParseSize(v.Memory)
	if n < 1<<20 { // a bare number is MiB, as virt-install's --memory
		return uint(n)
	}
	return uint(n >> 20)
}

// Desired is the domain the arguments describe under one virtualization
// type (pure, table-tested).
func (v *VirtInstall) Desired(virtType string) *libvirtxml.Domain {
	d := &libvirtxml.Domain{Type: virtType, Name: v.Name,
		Memory: &libvirtxml.DomainMemory{Value: v.memoryMiB(), Unit: "MiB"},
		VCPU:   &libvirtxml.DomainVCPU{Value: uint(v.vcpus(virtType))},
		OS: &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Arch: "x86_64", Machine: "pc", Type: "hvm"},
			Kernel: v.Kernel, Initrd: v.Initrd, Cmdline: v.Cmdline},
		Features:   &libvirtxml.DomainFeatureList{ACPI: &libvirtxml.DomainFeature{}, APIC: &libvirtxml.DomainFeatureAPIC{}},
		OnPoweroff: "destroy", OnReboot: "restart", OnCrash: "destroy",
		Devices: &libvirtxml.DomainDeviceList{},
	}
	if v.Kernel == "" {
		d.OS.BootDevices = []libvirtxml.DomainBootDevice{{Dev: "hd"}}
	}
	if virtType == "kvm" {
		d.CPU = &libvirtxml.DomainCPU{Mode: "host-passthrough"}
	} else if v.TBCacheMB > 0 {
		d.Features.TCG = &libvirtxml.DomainFeatureTCG{TBCache: &libvirtxml.DomainFeatureTCGTBCache{Unit: "MiB", Size: uint(v.TBCacheMB)}}
	}
	dev := d.Devices
	dev.Disks = append(dev.Disks, libvirtxml.DomainDisk{Device: "disk",
		Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "qcow2"},
		Source: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: v.Disk}},
		Target: &libvirtxml.DomainDiskTarget{Dev: "vda", Bus: "virtio"}})
	if v.Seed != "" {
		dev.Disks = append(dev.Disks, libvirtxml.DomainDisk{Device: "disk",
			Driver:   &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "raw"},
			Source:   &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: v.Seed}},
			Target:   &libvirtxml.DomainDiskTarget{Dev: "vdb", Bus: "virtio"},
			ReadOnly: &libvirtxml.DomainDiskReadOnly{}})
	}
	if v.Network != "" {
		nic := libvirtxml.DomainInterface{
			Source: &libvirtxml.DomainInterfaceSource{Network: &libvirtxml.DomainInterfaceSourceNetwork{Network: v.Network}},
			Model:  &libvirtxml.DomainInterfaceModel{Type: "virtio"}}
		if v.MAC != "" {
			nic.MAC = &libvirtxml.DomainInterfaceMAC{Address: strings.ToLower(v.MAC)}
		}
		dev.Interfaces = append(dev.Interfaces, nic)
	}
	// the serial console goes to a file as well, so a guest that does not
	// come up can be read afterwards
	port := uint(0)
	dev.Serials = []libvirtxml.DomainSerial{{Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
		Target: &libvirtxml.DomainSerialTarget{Port: &port},
		Log:    &libvirtxml.DomainChardevLog{File: v.ConsoleLog(), Append: "off"}}}
	dev.Consoles = []libvirtxml.DomainConsole{{Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
		Target: &libvirtxml.DomainConsoleTarget{Type: "serial", Port: &port}}}
	// guests under TCG start sshd sooner with entropy from the host
	dev.RNGs = []libvirtxml.DomainRNG{{Model: "virtio", Backend: &libvirtxml.DomainRNGBackend{Random: &libvirtxml.DomainRNGBackendRandom{Device: "/dev/urandom"}}}}
	return d
}

func (v *VirtInstall) vcpus(virtType string) int {
	if virtType == "qemu" && v.TCGVCPUs > 0 {
		return v.TCGVCPUs
	}
	return v.VCPUs
}

// ConsoleLog is where the guest's serial console is written.
func (v *VirtInstall) ConsoleLog() string { return "/var/log/libvirt/qemu/" + v.Name + "-console.log" }

// domFields is what runbook manages of a domain, for comparison and diffs.
type domFields struct {
	Type, Kernel, Initrd, Cmdline, Network, MAC string
	MemoryMiB, VCPUs, TBCacheMB                 uint
	Disks                                       []string
}

func domFieldsOf(d *libvirtxml.Domain) domFields {
	f := domFields{Type: d.Type}
	if d.Memory != nil {
		f.MemoryMiB = d.Memory.Value
		switch strings.ToLower(d.Memory.Unit) {
		case "kib", "k", "":
			f.MemoryMiB = d.Memory.Value / 1024
		case "gib", "g":
			f.MemoryMiB = d.Memory.Value * 1024
		}
	}
	if d.VCPU != nil {
		f.VCPUs = d.VCPU.Value
	}
	if d.OS != nil {
		f.Kernel, f.Initrd, f.Cmdline = d.OS.Kernel, d.OS.Initrd, d.OS.Cmdline
	}
	if d.Features != nil && d.Features.TCG != nil && d.Features.TCG.TBCache != nil {
		f.TBCacheMB = d.Features.TCG.TBCache.Size
		if strings.EqualFold(d.Features.TCG.TBCache.Unit, "KiB") {
			f.TBCacheMB /= 1024
		}
	}
	if d.Devices != nil {
		for _, disk := range d.Devices.Disks {
			if disk.Source != nil && disk.Source.File != nil && disk.Target != nil {
				f.Disks = append(f.Disks, disk.Target.Dev+"="+disk.Source.File.File)
			}
		}
		for _, nic := range d.Devices.Interfaces {
			if nic.Source != nil && nic.Source.Network != nil {
				f.Network = nic.Source.Network.Network
			}
			if nic.MAC != nil {
				f.MAC = strings.ToLower(nic.MAC.Address)
			}
		}
	}
	return f
}

func (f domFields) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "type: %s\nmemory: %d MiB\nvcpus: %d\n", f.Type, f.MemoryMiB, f.VCPUs)
	for _, d := range f.Disks {
		fmt.Fprintf(&b, "disk: %s\n", d)
	}
	fmt.Fprintf(&b, "network: %s mac %s\n", f.Network, f.MAC)
	if f.Kernel != "" {
		fmt.Fprintf(&b, "kernel: %s\ninitrd: %s\ncmdline: %s\n", f.Kernel, f.Initrd, f.Cmdline)
	}
	if f.TBCacheMB > 0 {
		fmt.Fprintf(&b, "tcg tb-cache: %d MiB\n", f.TBCacheMB)
	}
	return b.String()
}

// domain states, as libvirt numbers them
const (
	stateRunning = int32(libvirt.DomainRunning)
	statePaused  = int32(libvirt.DomainPaused)
	stateShutoff = int32(libvirt.DomainShutoff)
	stateCrashed = int32(libvirt.DomainCrashed)
)

// domainPlan is what Run found to do to a domain; apply carries it out.
type domainPlan struct {
	remove    bool               // destroy (when running) and undefine
	running   bool               // the domain runs now
	define    *libvirtxml.Domain // define or redefine it as this
	start     bool
	shutdown  bool
	autostart *int32 // set the flag to this
	virtType  string
	changes   []string
}

// Run plans the domain's wanted state; Apply dials libvirtd again and
// carries the plan out.
func (v *VirtInstall) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	l, err := Connect(env.Host, v.Socket, v.URI)
	if err != nil {
		return nil, err
	}
	defer l.Disconnect()
	res := &modules.Result{Data: map[string]any{"name": v.Name}}
	p := &domainPlan{}
	dom, lookupErr := l.DomainLookupByName(v.Name)
	exists := lookupErr == nil
	state := stateShutoff
	if exists {
		if state, _, err = l.DomainGetState(dom, 0); err != nil {
			return nil, err
		}
	}
	p.running = state == stateRunning || state == statePaused
	if v.State == "absent" {
		if exists {
			p.remove = true
			p.changes = append(p.changes, "remove")
		}
		return v.plan(env, res, p), nil
	}

	virtType, why := v.VirtType, ""
	var cur *libvirtxml.Domain
	if exists {
		x, err := l.DomainGetXMLDesc(dom, libvirt.DomainXMLInactive)
		if err != nil {
			return nil, err
		}
		cur = &libvirtxml.Domain{}
		if err := cur.Unmarshal(x); err != nil {
			return nil, err
		}
	}
	if virtType == "auto" {
		virtType, why = v.chooseVirtType(ctx, env, cur)
	}
	p.virtType = virtType
	res.Data["virt_type"] = virtType
	want := v.Desired(virtType)
	if cur != nil {
		want.UUID = cur.UUID
	}
	redefine := !exists
	if exists {
		cf, wf := domFieldsOf(cur), domFieldsOf(want)
		if !reflect.DeepEqual(cf, wf) {
			redefine = true
			res.Diffs = []modules.Diff{{Path: "domain " + v.Name, Before: cf.String(), After: wf.String()}}
			if p.running {
				res.Data["restart_required"] = true
				if env.Warn != nil {
					env.Warn("domain %s runs with its old definition until it is shut down and started again (not done behind your back)", v.Name)
				}
			}
		}
	} else {
		res.Diffs = []modules.Diff{{Path: "domain " + v.Name, After: domFieldsOf(want).String()}}
	}
	if why != "" && env.Warn != nil && (!exists || redefine) {
		env.Warn("%s", why)
	}
	if redefine {
		p.define = want
		p.changes = append(p.changes, map[bool]string{true: "redefine", false: "define"}[exists])
	}
	switch {
	case v.State == "running" && !p.running:
		p.start = true
		p.changes = append(p.changes, "start")
	case v.State == "shutoff" && p.running:
		p.shutdown = true
		p.changes = append(p.changes, "shut down")
	}
	if v.Autostart != nil {
		cur := int32(0) // a domain defined now starts without autostart
		if exists {
			if cur, err = l.DomainGetAutostart(dom); err != nil {
				return nil, err
			}
		}
		if on, change := autostart(*v.Autostart, cur); change != "" {
			p.autostart = &on
			p.changes = append(p.changes, change)
		}
	}
	v.address(l, res)
	return v.plan(env, res, p), nil
}

// address puts the guest's address (reservation, else lease) in the result.
func (v *VirtInstall) address(l *libvirt.Libvirt, res *modules.Result) {
	if v.Network != "" && v.MAC != "" {
		if ip, source := GuestAddress(l, v.Network, v.MAC); ip != "" {
			res.Data["address"], res.Data["address_source"] = ip, source
		}
	}
}

// plan names the changes in res and gives it an Apply that carries p out
// over a new connection (the one Run planned over is closed by then).
func (v *VirtInstall) plan(env *modules.Env, res *modules.Result, p *domainPlan) *modules.Result {
	finish(res, p.changes)
	if len(p.changes) == 0 {
		return res
	}
	res.Apply = func(ctx context.Context) error {
		return withLibvirt(env, v.Socket, v.URI, func(l *libvirt.Libvirt) error { return v.apply(ctx, env, l, p, res) })
	}
	return res
}

// apply carries out a domain's plan, filling res as it goes.
func (v *VirtInstall) apply(ctx context.Context, env *modules.Env, l *libvirt.Libvirt, p *domainPlan, res *modules.Result) error {
	if p.define != nil {
		if _, err := v.define(l, p.define); err != nil {
			return err
		}
	}
	dom, err := l.DomainLookupByName(v.Name)
	if err != nil {
		return err
	}
	if p.remove {
		if p.running {
			if err := l.DomainDestroy(dom); err != nil {
				return err
			}
		}
		return l.DomainUndefineFlags(dom, libvirt.DomainUndefineManagedSave)
	}
	if p.start {
		virtType := p.virtType
		died, err := v.start(ctx, env, l, dom)
		if err != nil {
			return err
		}
		if died != "" && v.VirtType == "auto" && virtType == "kvm" {
			// KVM exists but cannot run this guest: software emulation
			if env.Warn != nil {
				env.Warn("%s died under KVM (%s); using software emulation (qemu/TCG): the lab will be several times slower", v.Name, died)
			}
			kvmBroken.Store(env.Host.Name()+" "+v.URI, true)
			virtType = "qemu"
			res.Data["virt_type"] = virtType
			again := v.Desired(virtType)
			if x, err := l.DomainGetXMLDesc(dom, libvirt.DomainXMLInactive); err == nil {
				var cur libvirtxml.Domain
				if cur.Unmarshal(x) == nil {
					again.UUID = cur.UUID // the same domain, redefined
				}
			}
			if dom, err = v.define(l, again); err != nil {
				return err
			}
			if died, err = v.start(ctx, env, l, dom); err != nil {
				return err
			}
		}
		if died != "" {
			hint := ""
			if virtType == "kvm" && strings.Contains(strings.ToLower(died), "kvm") {
				hint = "; KVM is unusable on this host: use virt_type qemu (software emulation) or auto"
			}
			*res = *modules.Failf("%s died at start: %s%s", v.Name, died, hint)
			return nil
		}
		// say which accelerator runs the guest: KVM and TCG differ 5-10x in speed
		p.changes[slices.Index(p.changes, "start")] = "start (" + acceleratorName(virtType) + ")"
	}
	if p.shutdown {
		if err := v.shutdown(ctx, l, dom); err != nil {
			return err
		}
	}
	if p.autostart != nil {
		if err := l.DomainSetAutostart(dom, *p.autostart); err != nil {
			return err
		}
	}
	v.address(l, res)
	finish(res, p.changes)
	return nil
}

func (v *VirtInstall) define(l *libvirt.Libvirt, d *libvirtxml.Domain) (libvirt.Domain, error) {
	x, err := d.Marshal()
	if err != nil {
		return libvirt.Domain{}, err
	}
	dom, err := l.DomainDefineXML(x)
	if err != nil {
		return dom, fmt.Errorf("defining domain %s: %w", v.Name, err)
	}
	return dom, nil
}

// chooseVirtType picks kvm or qemu for virt_type auto: an existing domain
// keeps its type; otherwise KVM when /dev/kvm is there (start() then
// watches whether the guest really runs under it).
func (v *VirtInstall) chooseVirtType(ctx context.Context, env *modules.Env, cur *libvirtxml.Domain) (string, string) {
	if cur != nil && (cur.Type == "kvm" || cur.Type == "qemu") {
		return cur.Type, ""
	}
	if _, broken := kvmBroken.Load(env.Host.Name() + " " + v.URI); broken {
		return "qemu", ""
	}
	r, err := env.Host.Run(ctx, modules.Cmd{Script: "test -c /dev/kvm && test -r /dev/kvm"})
	return ChooseVirtType(err == nil && r.RC == 0)
}

// acceleratorName is how a start says what runs the guest.
func acceleratorName(virtType string) string {
	if virtType == "qemu" {
		return "software emulation, qemu/TCG"
	}
	return strings.ToUpper(virtType)
}

// kvmBroken remembers, for the rest of the run, hypervisors where a guest
// died under KVM, so the next VMs start under qemu without trying again.
var kvmBroken sync.Map

// ChooseVirtType is the auto choice before a guest has been tried.
func ChooseVirtType(kvmDevice bool) (string, string) {
	if kvmDevice {
		return "kvm", ""
	}
	return "qemu", "no /dev/kvm on this host: using software emulation (qemu/TCG), several times slower than KVM"
}

// start starts the domain and watches it; it returns why the guest died,
// or "" when it was still running after the watch.
func (v *VirtInstall) start(ctx context.Context, env *modules.Env, l *libvirt.Libvirt, dom libvirt.Domain) (string, error) {
	if err := l.DomainCreate(dom); err != nil {
		return DeathReason(err.Error(), err.Error()), nil
	}
	watch := time.Duration(v.Watch) * time.Second
	if x, err := l.DomainGetXMLDesc(dom, 0); err == nil && strings.Contains(x, "type='qemu'") {
		watch = min(watch, 2*time.Second) // no KVM to fail under software emulation
	}
	deadline := time.Now().Add(watch)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		state, reason, err := l.DomainGetState(dom, 0)
		if err != nil {
			return "", err
		}
		if state == stateShutoff || state == stateCrashed || state == statePaused {
			log := ""
			if r, err := env.Host.Run(ctx, modules.Cmd{Script: "tail -n 5 /var/log/libvirt/qemu/" + modules.Quote(v.Name) + ".log 2>/dev/null"}); err == nil {
				log = r.Stdout
			}
			if state == statePaused {
				l.DomainDestroy(dom)
			}
			return DeathReason(fmt.Sprintf("state %d reason %d", state, reason), log), nil
		}
	}
	return "", nil
}

// DeathReason names why a guest died, from libvirt's error and QEMU's log.
func DeathReason(state, log string) string {
	// the most telling line first
	for _, key := range []string{"KVM internal error", "failed to set MSR", "failed to initialize kvm", "kvm", "KVM", "error"} {
		for _, l := range strings.Split(log, "\n") {
			if strings.Contains(l, key) {
				return strings.TrimSpace(l)
			}
		}
	}
	return state
}

func (v *VirtInstall) shutdown(ctx context.Context, l *libvirt.Libvirt, dom libvirt.Domain) error {
	if err := l.DomainShutdown(dom); err == nil {
		for i := 0; i < 120; i++ {
			if s, _, err := l.DomainGetState(dom, 0); err == nil && s == stateShutoff {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
	// no ACPI answer within a minute: pull the plug
	return l.DomainDestroy(dom)
}

// GuestAddress finds a guest's address by MAC: the network's DHCP
// reservation first, else its lease.
func GuestAddress(l *libvirt.Libvirt, network, mac string) (string, string) {
	hosts, err := NetworkHosts(l, network)
	if err != nil {
		return "", ""
	}
	for _, h := range hosts {
		if h.MAC == strings.ToLower(mac) {
			return h.IP, h.Source
		}
	}
	return "", ""
}

var _ modules.Validator = (*VirtInstall)(nil)

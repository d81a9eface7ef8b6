package testlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runbook-lab/runbook/transport"
)

// Lab addresses live only inside the lab namespace.
// Gateway is the lab namespace's own address on the hosts' bridge.
const Gateway = gateway

// DataDiskSize is the size of each host's /var/lib/postgresql (a tmpfs:
// memory only as it fills). One test process runs every drill on the same
// lab; a standby keeps up to a checkpoint's worth of 16 MiB segments, and
// the drills switch segments often, so 1.5 GiB filled late in a run.
var DataDiskSize = "3G"

const (
	LabNS     = "rblab"
	bridge    = "br0"
	subnet    = "10.77.0"
	gateway   = subnet + ".1"
	repoPort  = 8080
	stateFile = "/run/runbook-testlab/state.json"
	workDir   = "/var/lib/runbook-testlab"
)

// Host is one nspawn container.
type Host struct {
	Name   string `json:"name"`
	Addr   string `json:"addr"`
	MAC    string `json:"mac"`
	NS     string `json:"ns"`
	PID    int    `json:"pid"`
	Merged string `json:"merged"`
	Dir    string `json:"dir"`
}

// Lab is a running lab; its state is kept in a file so another process
// (make lab-down) can tear it down by PID.
type Lab struct {
	NS            string  `json:"ns"`
	Hosts         []*Host `json:"hosts"`
	DnsmasqPID    int     `json:"dnsmasq_pid"`
	RepoPID       int     `json:"repo_pid"`
	LibvirtdPID   int     `json:"libvirtd_pid,omitempty"`
	VirtlogdPID   int     `json:"virtlogd_pid,omitempty"`
	KeyFile       string  `json:"key_file"`
	InventoryFile string  `json:"inventory_file"`
	KnownHosts    string  `json:"known_hosts"`
	RepoURL       string  `json:"repo_url"`
}

// DefaultNames are the lab's host names for n hosts.
func DefaultNames(n int) []string {
	names := []string{"postgres1", "postgres2", "postgres3", "postgres-client"}
	if n <= len(names) {
		return names[:n]
	}
	for i := len(names); i < n; i++ {
		names = append(names, fmt.Sprintf("host%d", i+1))
	}
	return names
}

func sh(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Up builds (or reuses) the image and starts hosts with the given names.
func Up(ctx context.Context, names []string) (*Lab, error) {
	if _, err := os.Stat(stateFile); err == nil {
		if err := Down(); err != nil {
			return nil, fmt.Errorf("tearing down a previous lab: %w", err)
		}
	}
	img, err := BuildImage(ctx)
	if err != nil {
		return nil, err
	}
	lab := &Lab{NS: LabNS, KeyFile: img.KeyFile, RepoURL: fmt.Sprintf("http://%s:%d/", gateway, repoPort)}
	if err := os.MkdirAll(filepath.Dir(stateFile), 0o755); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			lab.save()
			Down()
		}
	}()
	// the lab namespace: a bridge, DHCP and the package repository
	for _, c := range [][]string{
		{"ip", "netns", "add", LabNS},
		{"ip", "-n", LabNS, "link", "set", "lo", "up"},
		{"ip", "-n", LabNS, "link", "add", bridge, "type", "bridge"},
		{"ip", "-n", LabNS, "addr", "add", gateway + "/24", "dev", bridge},
		{"ip", "-n", LabNS, "link", "set", bridge, "up"},
	} {
		if err := sh(ctx, c...); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return nil, err
	}
	var dhcpHosts []string
	for i, n := range names {
		h := &Host{Name: n, Addr: fmt.Sprintf("%s.%d", subnet, 10+i), MAC: fmt.Sprintf("02:77:00:00:00:%02x", 10+i),
			NS: "rblab-" + n, Dir: filepath.Join(workDir, n)}
		h.Merged = filepath.Join(h.Dir, "merged")
		lab.Hosts = append(lab.Hosts, h)
		dhcpHosts = append(dhcpHosts, "--dhcp-host="+h.MAC+","+h.Addr+","+n)
	}
	dnsmasq := exec.Command("ip", append([]string{"netns", "exec", LabNS, "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
		"--interface=" + bridge, "--bind-interfaces", "--port=0", "--dhcp-range=" + subnet + ".100," + subnet + ".200,12h",
		"--dhcp-leasefile=" + filepath.Join(workDir, "leases"), "--pid-file="}, dhcpHosts...)...)
	if err := dnsmasq.Start(); err != nil {
		return nil, fmt.Errorf("dnsmasq: %w", err)
	}
	lab.DnsmasqPID = dnsmasq.Process.Pid
	repo := exec.Command("ip", "netns", "exec", LabNS, "python3", "-m", "http.server", "--bind", "0.0.0.0", // inside the lab namespace only: the lab bridge and libvirt's networks
		"--directory", img.Repo, fmt.Sprint(repoPort))
	repo.Stdout, repo.Stderr = nil, nil
	if err := repo.Start(); err != nil {
		return nil, fmt.Errorf("repository server: %w", err)
	}
	lab.RepoPID = repo.Process.Pid
	lab.save()
	for i, h := range lab.Hosts {
		if err := lab.startHost(ctx, img, h, i); err != nil {
			return nil, err
		}
		lab.save()
	}
	if err := lab.waitSSH(ctx, 90*time.Second); err != nil {
		return nil, err
	}
	if err := lab.writeInventory(); err != nil {
		return nil, err
	}
	lab.save()
	ok = true
	return lab, nil
}

func (lab *Lab) startHost(ctx context.Context, img *Image, h *Host, i int) error {
	upper, work := filepath.Join(h.Dir, "upper"), filepath.Join(h.Dir, "work")
	os.RemoveAll(h.Dir)
	for _, d := range []string{upper, work, h.Merged} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := unix.Mount("overlay", h.Merged, "overlay", 0, "lowerdir="+img.Rootfs+",upperdir="+upper+",workdir="+work); err != nil {
		return fmt.Errorf("overlay for %s: %w", h.Name, err)
	}
	files := map[string]string{
		"etc/hostname":                          h.Name + "\n",
		"etc/hosts":                             "127.0.0.1 localhost\n127.0.1.1 " + h.Name + "\n",
		"etc/apt/sources.list":                  "deb [trusted=yes] " + lab.RepoURL + " ./\n",
		"etc/apt/sources.list.d/debian.sources": "",
	}
	for p, c := range files {
		if err := os.WriteFile(filepath.Join(h.Merged, p), []byte(c), 0o644); err != nil {
			return err
		}
	}
	os.Remove(filepath.Join(h.Merged, "etc/apt/sources.list.d/debian.sources"))
	veth := fmt.Sprintf("rbv%d", i)
	for _, c := range [][]string{
		{"ip", "netns", "add", h.NS},
		{"ip", "-n", h.NS, "link", "set", "lo", "up"},
		{"ip", "-n", h.NS, "link", "add", "eth0", "address", h.MAC, "type", "veth", "peer", "name", veth, "netns", LabNS},
		{"ip", "-n", LabNS, "link", "set", veth, "master", bridge},
		{"ip", "-n", LabNS, "link", "set", veth, "up"},
	} {
		if err := sh(ctx, c...); err != nil {
			return err
		}
	}
	cmd := exec.Command("systemd-nspawn", "-D", h.Merged, "-M", h.Name, "-b", "--register=no", "--keep-unit",
		"--capability=CAP_NET_ADMIN", "--network-namespace-path=/run/netns/"+h.NS, "--console=passive",
		// PostgreSQL's disk is small and its own, as a VM's data disk: the
		// disk-full drill fills it without touching the machine's disk
		"--tmpfs=/var/lib/postgresql:mode=0755,size="+DataDiskSize)
	logf, err := os.Create(filepath.Join(h.Dir, "console.log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("systemd-nspawn %s: %w", h.Name, err)
	}
	h.PID = cmd.Process.Pid
	go cmd.Wait()
	return nil
}

// Dial connects from inside the lab namespace (the calling thread enters
// it for the connect only; the socket stays there).
func (lab *Lab) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return transport.DialIn(ctx, lab.NS, network, addr)
}

func (lab *Lab) waitSSH(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, h := range lab.Hosts {
		for {
			c, err := lab.Dial(ctx, "tcp", h.Addr+":22")
			if err == nil {
				buf := make([]byte, 4)
				c.SetReadDeadline(time.Now().Add(2 * time.Second))
				_, rerr := c.Read(buf)
				c.Close()
				if rerr == nil && string(buf) == "SSH-" {
					break
				}
			}
			if time.Now().After(deadline) {
				log, _ := os.ReadFile(filepath.Join(h.Dir, "console.log"))
				return fmt.Errorf("%s (%s) not SSH-ready after %s: last seen %v\n%s", h.Name, h.Addr, timeout, err, tailBytes(log, 2000))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return nil
}

func tailBytes(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

func (lab *Lab) writeInventory() error {
	var b strings.Builder
	fmt.Fprintf(&b, "# the runbook test lab: reachable only inside network namespace %s\n", lab.NS)
	b.WriteString("all:\n  vars:\n    ansible_user: root\n    ansible_ssh_private_key_file: " + lab.KeyFile + "\n")
	b.WriteString("    lab_repo_url: " + lab.RepoURL + "\n  hosts:\n")
	for _, h := range lab.Hosts {
		fmt.Fprintf(&b, "    %s:\n      ansible_host: %s\n", h.Name, h.Addr)
	}
	lab.InventoryFile = filepath.Join(workDir, "inventory.yaml")
	lab.KnownHosts = filepath.Join(workDir, "known_hosts")
	os.Remove(lab.KnownHosts)
	return os.WriteFile(lab.InventoryFile, []byte(b.String()), 0o644)
}

func (lab *Lab) save() {
	b, _ := json.MarshalIndent(lab, "", "  ")
	os.WriteFile(stateFile, b, 0o600)
}

// Load reads the running lab's state.
func Load() (*Lab, error) {
	b, err := os.ReadFile(stateFile)
	if err != nil {
		return nil, err
	}
	lab := &Lab{}
	return lab, json.Unmarshal(b, lab)
}

// Down stops everything the lab started, by PID, unmounts the overlays and
// removes the namespaces.
func Down() error {
	lab, err := Load()
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	var errs []error
	for _, h := range lab.Hosts {
		if h.PID > 0 {
			syscall.Kill(h.PID, syscall.SIGTERM) // nspawn: graceful poweroff
		}
	}
	for _, h := range lab.Hosts {
		waitGone(h.PID, 15*time.Second)
		if h.Merged != "" {
			if err := unix.Unmount(h.Merged, 0); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
				unix.Unmount(h.Merged, unix.MNT_DETACH)
			}
			os.RemoveAll(h.Dir)
		}
		if h.NS != "" {
			exec.Command("ip", "netns", "del", h.NS).Run()
		}
	}
	// guests and network dnsmasqs libvirtd started outlive it: stop them by
	// the PIDs libvirt recorded (only when the lab started libvirtd)
	if lab.LibvirtdPID > 0 {
		pids, _ := filepath.Glob("/run/libvirt/qemu/*.pid")
		more, _ := filepath.Glob("/run/libvirt/network/*.pid")
		for _, f := range append(pids, more...) {
			b, err := os.ReadFile(f)
			var pid int
			if err == nil {
				fmt.Sscanf(strings.TrimSpace(string(b)), "%d", &pid)
			}
			if pid > 1 {
				syscall.Kill(pid, syscall.SIGTERM)
				waitGone(pid, 5*time.Second)
			}
		}
	}
	// libvirtd first: it tears down the networks it made in the namespace
	for _, pid := range []int{lab.LibvirtdPID, lab.VirtlogdPID, lab.DnsmasqPID, lab.RepoPID} {
		if pid > 0 {
			syscall.Kill(pid, syscall.SIGTERM)
			waitGone(pid, 5*time.Second)
		}
	}
	exec.Command("ip", "netns", "del", lab.NS).Run()
	if err := os.Remove(stateFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func waitGone(pid int, timeout time.Duration) {
	if pid <= 0 {
		return
	}
	deadline := time.Now().Add(timeout)
	for syscall.Kill(pid, 0) == nil {
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			syscall.Wait4(pid, &ws, 0, nil)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

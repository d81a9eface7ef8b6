package testlab

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// LibvirtSocket is libvirtd's socket; /run/libvirt is machine-wide, so one
// libvirtd runs per machine at a time.
const LibvirtSocket = "/run/libvirt/libvirt-sock"

// reaper runs a daemon as its child and reaps every orphan below it. QEMU
// daemonizes (its capability probes and its guests), so its processes are
// re-parented to the nearest subreaper; this machine's PID 1 does not reap,
// and libvirtd waits forever for a probe that stays a zombie. SIGTERM goes
// to the daemon; the reaper ends when no child is left.
const reaper = `import ctypes, os, signal, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
signal.signal(signal.SIGTERM, lambda s, f: os.kill(pid, signal.SIGTERM))
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
    except InterruptedError:
        pass
`

// StartLibvirtd starts virtlogd and libvirtd inside the lab namespace (the
// machine has no systemd to start them), so the networks, bridges, dnsmasq
// and iptables rules libvirt creates exist only there. Both are stopped by
// PID in Down.
func (lab *Lab) StartLibvirtd(ctx context.Context) error {
	if lab.LibvirtdPID > 0 {
		return nil
	}
	if c, err := net.DialTimeout("unix", LibvirtSocket, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("a libvirtd outside the lab already listens on %s: stop it first (one per machine)", LibvirtSocket)
	}
	for _, tool := range []string{"libvirtd", "virtlogd"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s missing (apt-get install libvirt-daemon-system libvirt-daemon-driver-qemu)", tool)
		}
	}
	logf, err := os.Create(filepath.Join(workDir, "libvirtd.log"))
	if err != nil {
		return err
	}
	start := func(name string) (int, error) {
		cmd := exec.Command("ip", "netns", "exec", lab.NS, "python3", "-c", reaper, name)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		go cmd.Wait()
		return cmd.Process.Pid, nil
	}
	if lab.VirtlogdPID, err = start("virtlogd"); err != nil {
		return err
	}
	if lab.LibvirtdPID, err = start("libvirtd"); err != nil {
		return err
	}
	lab.save()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if c, err := net.DialTimeout("unix", LibvirtSocket, time.Second); err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			return fmt.Errorf("libvirtd did not open %s within 60 s:\n%s", LibvirtSocket, tailBytes(log, 2000))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Package testlab builds real hosts for tests on one machine: a cached
// Debian base image (debootstrap from the machine's own apt mirror), a local
// package repository, systemd-nspawn containers (systemd as PID 1, sshd)
// each in its own network namespace joined to a bridge in a lab namespace
// with DHCP, and teardown by PID. Nothing it creates lives in the machine's
// root network namespace.
package testlab

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// CacheDir holds base images and package repositories, keyed by recipe.
var CacheDir = "/var/cache/runbook-testlab"

// Packages the base image has: enough for systemd, sshd and runbook's
// modules; PostgreSQL and pgpool-II are not in it, the playbooks install
// them from the lab's repository.
var imagePackages = []string{"systemd", "systemd-sysv", "dbus", "openssh-server", "iproute2", "sudo",
	"ca-certificates", "procps", "python3", "less", "netbase"}

// RepoPackages are served by the lab's package repository (with their
// dependencies): what the lab playbooks install, and one small package for
// apt module tests.
var RepoPackages = []string{"postgresql", "postgresql-contrib", "postgresql-client", "pgpool2", "postgresql-15-pgpool2", "hello", "strace"}

// recipe is everything that changes the image; its hash names the cache.
// The repository has a recipe of its own, so adding a package does not
// rebuild the root filesystem.
func recipe(mirror string) string {
	return strings.Join([]string{"v3", "bookworm", mirror, strings.Join(imagePackages, ",")}, "|")
}

func repoRecipe(mirror string) string {
	return strings.Join([]string{"repo-v1", recipe(mirror), strings.Join(RepoPackages, ",")}, "|")
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}

// Image is a built base image.
type Image struct {
	Rootfs  string
	Repo    string // directory with .debs and Packages
	KeyFile string // root's SSH private key
}

// Mirror reads the machine's configured Debian mirror (deb822 sources first,
// then sources.list); it never guesses a host.
func Mirror() (string, error) {
	if f, err := os.Open("/etc/apt/sources.list.d/debian.sources"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, "URIs:") {
				for _, u := range strings.Fields(strings.TrimPrefix(l, "URIs:")) {
					if !strings.Contains(u, "security") {
						return u, nil
					}
				}
			}
		}
	}
	if b, err := os.ReadFile("/etc/apt/sources.list"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) >= 3 && f[0] == "deb" && !strings.Contains(l, "security") {
				if strings.HasPrefix(f[1], "[") {
					f = append(f[:1], f[2:]...)
				}
				return f[1], nil
			}
		}
	}
	return "", fmt.Errorf("no Debian mirror in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list")
}

func run(ctx context.Context, log *os.File, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C")
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w (log: %s)", name, strings.Join(args, " "), err, log.Name())
	}
	return nil
}

// BuildImage returns the cached image for the current recipe, building it
// (about 2-3 minutes) when missing.
func BuildImage(ctx context.Context) (*Image, error) {
	mirror, err := Mirror()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(CacheDir, "image-"+shortHash(recipe(mirror)))
	img := &Image{Rootfs: filepath.Join(dir, "rootfs"), Repo: filepath.Join(CacheDir, "repo-"+shortHash(repoRecipe(mirror))), KeyFile: filepath.Join(dir, "id_ed25519")}
	_, errImg := os.Stat(filepath.Join(dir, "ready"))
	_, errRepo := os.Stat(filepath.Join(img.Repo, "ready"))
	if errImg == nil && errRepo == nil {
		return img, nil
	}
	for _, tool := range []string{"debootstrap", "systemd-nspawn", "dnsmasq", "apt-ftparchive", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s missing (apt-get install debootstrap systemd-container dnsmasq-base apt-utils openssh-client)", tool)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	log, err := os.OpenFile(filepath.Join(dir, "build.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	// Each step leaves a marker, so an interrupted build resumes after the
	// last finished step instead of repeating debootstrap.
	steps := []func() error{
		func() error {
			os.RemoveAll(img.Rootfs)
			return run(ctx, log, "debootstrap", "--variant=minbase", "--include="+strings.Join(imagePackages, ","), "bookworm", img.Rootfs, mirror)
		},
		func() error {
			os.Remove(img.KeyFile)
			os.Remove(img.KeyFile + ".pub")
			return run(ctx, log, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "runbook-testlab", "-f", img.KeyFile)
		},
		func() error { return configureRootfs(img) },
		// hosts start with no package lists: their only source is the lab's
		// repository, and the first apt update reads it
		func() error { return run(ctx, log, "sh", "-c", "rm -rf "+img.Rootfs+"/var/lib/apt/lists/*") },
	}
	for i, step := range steps {
		marker := filepath.Join(dir, fmt.Sprintf("step-%d.done", i))
		if _, err := os.Stat(marker); err == nil {
			continue
		}
		if err := step(); err != nil {
			return nil, err
		}
		if err := os.WriteFile(marker, nil, 0o644); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "ready"), []byte(recipe(mirror)+"\n"), 0o644); err != nil {
		return nil, err
	}
	if errRepo != nil {
		if err := buildRepo(ctx, log, img, mirror); err != nil {
			return nil, err
		}
	}
	// images and repositories of older recipes are no longer used
	old, _ := filepath.Glob(filepath.Join(CacheDir, "*-*"))
	for _, o := range old {
		if o != dir && o != img.Repo {
			os.RemoveAll(o)
		}
	}
	return img, nil
}

// buildRepo downloads the .debs the playbooks need, with their exact
// dependency closure for this image, inside the image (with the machine's
// mirror, for this step only), and indexes them.
func buildRepo(ctx context.Context, log *os.File, img *Image, mirror string) error {
	os.RemoveAll(img.Repo)
	sources := filepath.Join(img.Rootfs, "etc/apt/sources.list")
	if err := os.WriteFile(sources, []byte("deb "+mirror+" bookworm main\n"), 0o644); err != nil {
		return err
	}
	defer os.WriteFile(sources, nil, 0o644)
	defer run(ctx, log, "sh", "-c", "rm -rf "+img.Rootfs+"/var/lib/apt/lists/* "+img.Rootfs+"/var/cache/apt/*.bin")
	if err := run(ctx, log, "chroot", img.Rootfs, "apt-get", "update", "-q"); err != nil {
		return err
	}
	args := append([]string{img.Rootfs, "apt-get", "install", "-y", "-q", "--download-only", "--no-install-recommends"}, RepoPackages...)
	if err := run(ctx, log, "chroot", args...); err != nil {
		return err
	}
	if err := collectRepo(ctx, log, img); err != nil {
		return err
	}
	if err := run(ctx, log, "chroot", img.Rootfs, "apt-get", "clean"); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(img.Repo, "ready"), nil, 0o644)
}

func configureRootfs(img *Image) error {
	pub, err := os.ReadFile(img.KeyFile + ".pub")
	if err != nil {
		return err
	}
	r := img.Rootfs
	files := map[string]string{
		"root/.ssh/authorized_keys":                  string(pub),
		"etc/systemd/network/80-dhcp.network":        "[Match]\nName=en* eth* host0\n\n[Network]\nDHCP=ipv4\n\n[DHCPv4]\nClientIdentifier=mac\n",
		"etc/fstab":                                  "/dev/vda / ext4 defaults 0 1\n",
		"etc/ssh/sshd_config.d/runbook-testlab.conf": "PermitRootLogin prohibit-password\nUseDNS no\nMaxSessions 100\n",
		"etc/machine-id":                             "",
		"etc/apt/apt.conf.d/99runbook-testlab":       "APT::Install-Recommends \"false\";\nAcquire::Retries \"3\";\n",
	}
	for p, c := range files {
		full := filepath.Join(r, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			return err
		}
	}
	os.Chmod(filepath.Join(r, "root/.ssh"), 0o700)
	os.Chmod(filepath.Join(r, "root/.ssh/authorized_keys"), 0o600)
	// each host makes its own host keys and machine-id at first boot
	keys, _ := filepath.Glob(filepath.Join(r, "etc/ssh/ssh_host_*"))
	for _, k := range keys {
		os.Remove(k)
	}
	os.Remove(filepath.Join(r, "var/lib/dbus/machine-id"))
	enable := [][2]string{
		{"/lib/systemd/system/systemd-networkd.service", "etc/systemd/system/multi-user.target.wants/systemd-networkd.service"},
		{"/lib/systemd/system/ssh.service", "etc/systemd/system/multi-user.target.wants/ssh.service"},
		{"/lib/systemd/system/sshd-keygen.service", ""},
	}
	for _, e := range enable {
		if e[1] == "" {
			continue
		}
		link := filepath.Join(r, e[1])
		os.MkdirAll(filepath.Dir(link), 0o755)
		os.Remove(link)
		if err := os.Symlink(e[0], link); err != nil {
			return err
		}
	}
	// sshd host keys: generated before sshd starts on each host's first boot
	unit := "[Unit]\nDescription=Generate SSH host keys\nBefore=ssh.service\nConditionPathExists=!/etc/ssh/ssh_host_ed25519_key\n\n[Service]\nType=oneshot\nExecStart=/usr/bin/ssh-keygen -A\n\n[Install]\nWantedBy=multi-user.target\n"
	if err := os.WriteFile(filepath.Join(r, "etc/systemd/system/runbook-hostkeys.service"), []byte(unit), 0o644); err != nil {
		return err
	}
	link := filepath.Join(r, "etc/systemd/system/multi-user.target.wants/runbook-hostkeys.service")
	os.Remove(link)
	return os.Symlink("/etc/systemd/system/runbook-hostkeys.service", link)
}

func collectRepo(ctx context.Context, log *os.File, img *Image) error {
	if err := os.MkdirAll(img.Repo, 0o755); err != nil {
		return err
	}
	debs, _ := filepath.Glob(filepath.Join(img.Rootfs, "var/cache/apt/archives/*.deb"))
	if len(debs) == 0 {
		return fmt.Errorf("no packages were downloaded for the repository")
	}
	for _, d := range debs {
		if err := os.Rename(d, filepath.Join(img.Repo, filepath.Base(d))); err != nil {
			return err
		}
	}
	cmd := exec.CommandContext(ctx, "apt-ftparchive", "packages", ".")
	cmd.Dir = img.Repo
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("apt-ftparchive: %w", err)
	}
	if err := os.WriteFile(filepath.Join(img.Repo, "Packages"), out, 0o644); err != nil {
		return err
	}
	rel := exec.CommandContext(ctx, "apt-ftparchive", "release", ".")
	rel.Dir = img.Repo
	if out, err = rel.Output(); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(img.Repo, "Release"), out, 0o644)
}

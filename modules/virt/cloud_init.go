package virt

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/runbook-lab/runbook/modules"
	"go.yaml.in/yaml/v3"
)

// CloudInit writes a NoCloud seed: an ISO 9660 image labelled "cidata"
// holding user-data, meta-data and optionally network-config, made with
// genisoimage. Idempotent by content: the files in an existing image are
// read back (isoinfo) and compared.
type CloudInit struct {
	Path              string             `yaml:"path" doc:"the seed image to write"`
	Hostname          string             `yaml:"hostname" doc:"the VM's host name"`
	InstanceID        string             `yaml:"instance_id" doc:"cloud-init instance id (default: the host name)"`
	SSHAuthorizedKeys modules.StringList `yaml:"ssh_authorized_keys" doc:"public keys for root and the default user"`
	Packages          modules.StringList `yaml:"packages" doc:"packages cloud-init installs at first boot"`
	UserData          string             `yaml:"user_data" doc:"a complete user-data document instead of the generated one"`
	NetworkConfig     string             `yaml:"network_config" doc:"network-config (version 2) document"`
	HostKeyFile       string             `yaml:"host_key_file" doc:"the guest's SSH host key (ed25519 private key file on the host, .pub beside it), so its fingerprint is known before first boot"`
	AptProxy          string             `yaml:"apt_proxy" doc:"HTTP proxy apt in the guest uses (e.g. apt-cacher-ng on the hypervisor)"`
	AptSources        string             `yaml:"apt_sources" doc:"the guest's sources.list, replacing the image's"`

	hostKey, hostKeyPublic string // read from HostKeyFile, never from variables
}

func init() {
	modules.Register(modules.Info{ID: "cloud_init", Summary: "Write a cloud-init NoCloud seed ISO (cidata: user-data, meta-data, network-config) with hostname, SSH keys and packages; idempotent by content.",
		Example: "cloud_init:\n  path: /var/lib/libvirt/images/postgres1-seed.iso\n  hostname: postgres1\n  ssh_authorized_keys: [\"{{ .lab_ssh_public_key }}\"]",
		New:     func() modules.Module { return &CloudInit{} }})
}

// Validate checks the arguments.
func (c *CloudInit) Validate() error {
	if c.Path == "" || c.Hostname == "" {
		return errors.New("cloud_init: path and hostname are required")
	}
	return nil
}

// Files are the seed's documents (pure, table-tested).
func (c *CloudInit) Files() (map[string]string, error) {
	id := c.InstanceID
	if id == "" {
		id = c.Hostname
	}
	meta, err := yaml.Marshal(map[string]string{"instance-id": id, "local-hostname": c.Hostname})
	if err != nil {
		return nil, err
	}
	user := c.UserData
	if user == "" {
		doc := map[string]any{"hostname": c.Hostname, "manage_etc_hosts": true, "disable_root": false}
		if len(c.SSHAuthorizedKeys) > 0 {
			doc["ssh_authorized_keys"] = []string(c.SSHAuthorizedKeys)
			doc["users"] = []any{"default", map[string]any{"name": "root", "ssh_authorized_keys": []string(c.SSHAuthorizedKeys)}}
		}
		if len(c.Packages) > 0 {
			doc["packages"] = []string(c.Packages)
		}
		if c.hostKey != "" {
			doc["ssh_deletekeys"] = true
			doc["ssh_keys"] = map[string]string{"ed25519_private": c.hostKey, "ed25519_public": strings.TrimSpace(c.hostKeyPublic)}
		}
		apt := map[string]any{}
		if c.AptProxy != "" {
			apt["proxy"] = c.AptProxy
		}
		if c.AptSources != "" {
			apt["preserve_sources_list"] = false
			apt["sources_list"] = c.AptSources
		}
		if len(apt) > 0 {
			doc["apt"] = apt
		}
		b, err := yaml.Marshal(doc)
		if err != nil {
			return nil, err
		}
		user = "#cloud-config\n" + string(b)
	}
	files := map[string]string{"meta-data": string(meta), "user-data": user}
	if c.NetworkConfig != "" {
		files["network-config"] = c.NetworkConfig
	}
	if boot := c.BootScript(); boot != "" {
		files[BootScriptName] = boot
	}
	return files, nil
}

// BootScriptName is the seed file the lab's own image runs at first boot
// instead of cloud-init (cloud images ignore it and read user-data).
const BootScriptName = "runbook-boot.sh"

// BootScript is what the generated user-data asks, as a POSIX shell
// script: cloud-init's Python takes minutes of a guest's first boot under
// software emulation, this takes a moment. Paths are under $ROOT (unset
// on the guest) so a test can run it into a directory. A seed with its
// own user_data or packages has none: those need cloud-init itself.
func (c *CloudInit) BootScript() string {
	if c.UserData != "" || len(c.Packages) > 0 {
		return ""
	}
	q := modules.Quote
	var b strings.Builder
	b.WriteString("# written by runbook's cloud_init module: the seed's user-data, without cloud-init\nset -e\numask 022\nR=\"${ROOT:-}\"\n")
	fmt.Fprintf(&b, "h=%s\nprintf '%%s\\n' \"$h\" > \"$R/etc/hostname\"\n[ -n \"$R\" ] || hostname \"$h\"\n", q(c.Hostname))
	// manage_etc_hosts: the host's own name resolves locally
	b.WriteString("{ grep -v '^127\\.0\\.1\\.1[[:space:]]' \"$R/etc/hosts\" 2>/dev/null || true; printf '127.0.1.1 %s\\n' \"$h\"; } > \"$R/etc/hosts.runbook\"\nmv -f \"$R/etc/hosts.runbook\" \"$R/etc/hosts\"\n")
	if len(c.SSHAuthorizedKeys) > 0 {
		b.WriteString("install -d -m 0700 \"$R/root/.ssh\"\nprintf '%s\\n'")
		for _, k := range c.SSHAuthorizedKeys {
			b.WriteString(" " + q(k))
		}
		b.WriteString(" > \"$R/root/.ssh/authorized_keys\"\nchmod 0600 \"$R/root/.ssh/authorized_keys\"\n")
	}
	if c.hostKey != "" {
		// ssh_deletekeys, then the given key: its fingerprint is known already
		fmt.Fprintf(&b, "rm -f \"$R\"/etc/ssh/ssh_host_*\n(umask 077; printf '%%s' %s > \"$R/etc/ssh/ssh_host_ed25519_key\")\nprintf '%%s\\n' %s > \"$R/etc/ssh/ssh_host_ed25519_key.pub\"\n",
			q(c.hostKey), q(strings.TrimSpace(c.hostKeyPublic)))
	}
	if c.AptProxy != "" {
		fmt.Fprintf(&b, "printf 'Acquire::http::Proxy \"%%s\";\\n' %s > \"$R/etc/apt/apt.conf.d/90runbook-proxy\"\n", q(c.AptProxy))
	}
	if c.AptSources != "" {
		// preserve_sources_list: false; a deb822 file would add the mirror back
		fmt.Fprintf(&b, "printf '%%s\\n' %s > \"$R/etc/apt/sources.list\"\nfor f in \"$R\"/etc/apt/sources.list.d/*.sources; do [ ! -e \"$f\" ] || mv -f \"$f\" \"$f.disabled\"; done\n", q(c.AptSources))
	}
	// growpart/resizefs: the root filesystem fills its (larger) disk
	b.WriteString("[ -n \"$R\" ] || { d=$(findmnt -n -o SOURCE /); case \"$d\" in /dev/*) resize2fs \"$d\" >/dev/null 2>&1 || true;; esac; }\n")
	return b.String()
}

// Run writes the seed when its content differs.
func (c *CloudInit) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	if c.HostKeyFile != "" {
		k, err := modules.RunOK(ctx, env.Host, "cat "+modules.Quote(c.HostKeyFile)+" && echo '--- pub' && cat "+modules.Quote(c.HostKeyFile+".pub"), "reading the host key")
		if err != nil {
			// the plan: write the seed once an earlier task (not applied in
			// check mode) has made the key; applying it without one fails
			res := &modules.Result{Changed: true, Msg: "write seed " + c.Path + " (its host key does not exist yet)"}
			res.Then(func(context.Context) error { return err })
			return res, nil
		}
		priv, pub, _ := strings.Cut(k.Stdout, "--- pub\n")
		c.hostKey, c.hostKeyPublic = priv, pub
	}
	files, err := c.Files()
	if err != nil {
		return nil, err
	}
	names := []string{"meta-data", "user-data", "network-config", BootScriptName}
	var read strings.Builder
	read.WriteString("p=" + modules.Quote(c.Path) + "\n[ -e \"$p\" ] || { echo absent; exit 0; }\n")
	for _, n := range names {
		fmt.Fprintf(&read, "echo '--- %s'; isoinfo -R -i \"$p\" -x /%s 2>/dev/null\n", n, n)
	}
	r, err := modules.RunOK(ctx, env.Host, read.String(), "reading the seed")
	if err != nil {
		return nil, err
	}
	current := map[string]string{}
	if strings.TrimSpace(r.Stdout) != "absent" {
		for _, part := range strings.Split(r.Stdout, "--- ")[1:] {
			name, body, _ := strings.Cut(part, "\n")
			if body != "" {
				current[name] = body
			}
		}
	}
	res := &modules.Result{Data: map[string]any{"path": c.Path}}
	same := len(current) == len(files)
	for n, want := range files {
		if current[n] != want {
			same = false
		}
	}
	if same {
		return res, nil
	}
	res.Changed, res.Msg = true, "write seed "+c.Path
	if env.Diff {
		res.Diffs = []modules.Diff{{Path: c.Path + ":user-data", Before: c.hideKey(current["user-data"]), After: c.hideKey(files["user-data"])}}
	}
	res.Then(func(ctx context.Context) error {
		// build in a temporary directory beside the target, then rename
		var b strings.Builder
		// the seed may hold a private host key: readable by its owner only
		b.WriteString("set -e\numask 077\nd=$(mktemp -d)\ntrap 'rm -rf \"$d\"' EXIT\n")
		stdin := ""
		for _, n := range names {
			body, ok := files[n]
			if !ok {
				continue
			}
			// the documents arrive one after another on stdin; dd reads exactly
			// its byte count (head could read ahead into the next one)
			fmt.Fprintf(&b, "dd bs=1 count=%d status=none > \"$d/%s\"\n", len(body), n)
			stdin += body
		}
		args := []string{"genisoimage", "-quiet", "-output", c.Path + ".tmp", "-volid", "cidata", "-joliet", "-rock"}
		b.WriteString(modules.Join(args...) + " \"$d\"/*\nmv -f " + modules.Quote(c.Path+".tmp") + " " + modules.Quote(c.Path) + "\n")
		// a private host key travels on stdin: secret (never shown by --explain)
		r2, err := env.Host.Run(ctx, modules.Cmd{Script: b.String(), Stdin: []byte(stdin), Secret: c.hostKey != ""})
		if _, err := modules.Must(r2, err, "genisoimage"); err != nil {
			return err
		}
		return nil
	})
	return res, nil
}

// hideKey masks the private host key in what is shown (diffs).
func (c *CloudInit) hideKey(doc string) string {
	if c.hostKey == "" {
		return doc
	}
	var out []string
	skip := false
	for _, l := range strings.Split(doc, "\n") {
		if strings.Contains(l, "ed25519_private:") {
			out = append(out, l[:strings.Index(l, "ed25519_private:")]+"ed25519_private: (hidden)")
			skip = true
			continue
		}
		if skip && (strings.HasPrefix(strings.TrimSpace(l), "-----") || strings.HasPrefix(l, "        ") || strings.TrimSpace(l) == "") && !strings.Contains(l, ":") {
			continue
		}
		skip = false
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

var _ modules.Validator = (*CloudInit)(nil)

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
	return files, nil
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
	names := []string{"meta-data", "user-data", "network-config"}
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
		r2, err := env.Host.Run(ctx, modules.Cmd{Script: b.String(), Stdin: []byte(stdin)})
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

package builtin

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// RpmKey is Ansible's rpm_key: a GPG key in the rpm database, imported
// from a file or URL on the host, or removed (by key, file or key id). The
// key id is read with gpg, as Ansible does, and compared with the keys rpm
// already has.
type RpmKey struct {
	Key         string `yaml:"key" required:"true" doc:"a key file on the host, an http(s) URL, or (for state absent) a key id"`
	State       string `yaml:"state" default:"present" doc:"present or absent"`
	Fingerprint string `yaml:"fingerprint" doc:"the fingerprint the key must have (import refused otherwise)"`
	ValidateCrt *bool  `yaml:"validate_certs" default:"true" doc:"verify the TLS certificate of a URL"`
}

func init() {
	modules.Register(modules.Info{ID: "rpm_key", Summary: "Import a GPG key into the rpm database (from a file or URL), or remove one; compares key ids as Ansible does",
		Example: "rpm_key:\n  key: https://download.postgresql.org/pub/repos/yum/keys/PGDG-RPM-GPG-KEY-RHEL\n  state: present",
		New:     func() modules.Module { return &RpmKey{} }})
}

var rpmKeyID = regexp.MustCompile(`^(0x)?[0-9a-fA-F]{8}([0-9a-fA-F]{8})?$`)

// Validate checks the state.
func (k *RpmKey) Validate() error {
	if k.State != "present" && k.State != "absent" {
		return fmt.Errorf("rpm_key: state %q: expected present or absent", k.State)
	}
	if k.State == "present" && rpmKeyID.MatchString(k.Key) {
		return fmt.Errorf("rpm_key: %s is a key id: state present needs a file or URL", k.Key)
	}
	return nil
}

// Run compares the key with rpm's and imports or removes it.
func (k *RpmKey) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	res := &modules.Result{Data: map[string]any{"key": k.Key}}
	id := strings.ToUpper(strings.TrimPrefix(strings.ToLower(k.Key), "0x"))
	fingerprint := ""
	isURL := strings.HasPrefix(k.Key, "http://") || strings.HasPrefix(k.Key, "https://")
	fetch := "cat -- " + modules.Quote(k.Key)
	if isURL {
		insecure := ""
		if k.ValidateCrt != nil && !*k.ValidateCrt {
			insecure = " -k"
		}
		fetch = "curl -fsSL" + insecure + " --max-time 60 -- " + modules.Quote(k.Key)
	}
	if !rpmKeyID.MatchString(k.Key) {
		// the key's id and fingerprint from gpg's colon listing, read
		// through a pipe: nothing is written to look
		r, err := modules.RunOK(ctx, env.Host, fetch+` | gpg --no-tty --batch --with-colons --fixed-list-mode --show-keys 2>/dev/null | awk -F: '$1=="pub"{n++; print "id", $5; p=1} $1=="fpr" && p {print "fpr", $10; p=0} END{print "keys", n+0}'`, "reading the key")
		if err != nil {
			return nil, err
		}
		keys := ""
		for _, l := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
			f := strings.Fields(l)
			switch {
			case len(f) == 2 && f[0] == "id" && fingerprint == "":
				id = strings.ToUpper(f[1])
			case len(f) == 2 && f[0] == "fpr" && fingerprint == "":
				fingerprint = strings.ToUpper(f[1])
			case len(f) == 2 && f[0] == "keys":
				keys = f[1]
			}
		}
		if fingerprint == "" {
			return modules.Failf("rpm_key: %s is not a GPG public key", k.Key), nil
		}
		if k.Fingerprint != "" && keys != "1" {
			// rpm --import takes every key of the file: a checked import
			// must import exactly the key that was checked
			return modules.Failf("rpm_key: %s holds %s keys; with fingerprint it must hold exactly the one key", k.Key, keys), nil
		}
		if want := strings.ToUpper(strings.ReplaceAll(k.Fingerprint, " ", "")); want != "" && want != fingerprint {
			return modules.Failf("rpm_key: the key's fingerprint %s is not %s", fingerprint, want), nil
		}
	}
	short := strings.ToLower(id[len(id)-8:])
	// the ids of the keys rpm has, each from its own armored description
	r, err := env.Host.Run(ctx, modules.Cmd{Script: `rpm -q gpg-pubkey --qf '%{description}' 2>/dev/null | gpg --no-tty --batch --with-colons --fixed-list-mode --show-keys 2>/dev/null | awk -F: '$1=="pub"{print $5}'`})
	if err != nil {
		return nil, err
	}
	imported := false
	for _, l := range strings.Fields(r.Stdout) {
		imported = imported || strings.HasSuffix(strings.ToUpper(l), id)
	}
	if imported == (k.State == "present") {
		return res, nil
	}
	res.Changed = true
	res.Then(func(ctx context.Context) error {
		if k.State == "present" && fingerprint != "" {
			// fetched once more into a private temporary file (mktemp), and
			// imported only if that very file holds the one key checked above:
			// a server (or a file) that answers differently the second time
			// gets nothing imported
			// with fingerprint: exactly that one key; without: the same first key
			firstOrAll := `$fprs`
			if k.Fingerprint == "" {
				firstOrAll = `$(printf '%s\n' "$fprs" | head -1)`
			}
			check := `fprs=$(gpg --no-tty --batch --with-colons --fixed-list-mode --show-keys "$tmp" 2>/dev/null | awk -F: '$1=="pub"{p=1} $1=="fpr" && p {print $10; p=0}')
	[ "` + firstOrAll + `" = ` + modules.Quote(fingerprint) + ` ] || { echo "the key changed since it was checked (or holds more than one key): not imported" >&2; exit 1; }
	`
			_, err = modules.RunOK(ctx, env.Host, "set -e; tmp=$(mktemp); trap 'rm -f \"$tmp\"' EXIT; "+fetch+" > \"$tmp\"\n"+check+`rpm --import "$tmp"`, "rpm --import")
		} else if k.State == "present" {
			_, err = modules.RunOK(ctx, env.Host, "rpm --import "+modules.Quote(k.Key), "rpm --import")
		} else {
			_, err = modules.RunOK(ctx, env.Host, "rpm --erase --allmatches "+modules.Quote("gpg-pubkey-"+short), "rpm --erase")
		}
		return err
	})
	return res, nil
}

var _ modules.Validator = (*RpmKey)(nil)

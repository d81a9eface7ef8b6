package builtin

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "apt_key", Summary: "Keep an APT signing key as a keyring in /etc/apt/trusted.gpg.d (from a URL, data or a file).",
		Example: "apt_key:\n  url: https://www.postgresql.org/media/keys/ACCC4CF8.asc\n  id: ACCC4CF8", New: func() modules.Module { return &AptKey{} }})
}

// AptKey keeps an APT signing key as a keyring file in
// /etc/apt/trusted.gpg.d (what apt-key add did, without apt-key).
type AptKey struct {
	URL     string `yaml:"url" doc:"where the key is (fetched by curl on the host)"`
	Data    string `yaml:"data" doc:"the key itself (armored or binary)"`
	File    string `yaml:"file" doc:"a key file on the host"`
	ID      string `yaml:"id" doc:"the key's id or fingerprint (names the keyring file when keyring is not given)"`
	Keyring string `yaml:"keyring" doc:"the keyring file (default: /etc/apt/trusted.gpg.d/ID-or-URL-name.gpg)"`
	State   string `yaml:"state" doc:"present or absent" default:"present"`
}

// Validate checks the arguments.
func (k *AptKey) Validate() error {
	n := 0
	for _, s := range []string{k.URL, k.Data, k.File} {
		if s != "" {
			n++
		}
	}
	if k.State == "present" && n != 1 {
		return errors.New("apt_key: give one of url, data or file")
	}
	if k.State != "present" && k.State != "absent" {
		return fmt.Errorf("apt_key: state must be present or absent, got %q", k.State)
	}
	if k.Keyring == "" && k.ID == "" && k.URL == "" {
		return errors.New("apt_key: give id or keyring (the keyring file is named after it)")
	}
	if k.ID != "" && !regexp.MustCompile(`^(0x)?[0-9A-Fa-f]{8,40}$`).MatchString(k.ID) {
		return fmt.Errorf("apt_key: %q is not a key id", k.ID)
	}
	return nil
}

func (k *AptKey) keyring() string {
	if k.Keyring != "" {
		return k.Keyring
	}
	name := strings.TrimPrefix(k.ID, "0x")
	if name == "" {
		p := strings.Split(strings.TrimRight(k.URL, "/"), "/")
		name = regexp.MustCompile(`[^A-Za-z0-9._-]`).ReplaceAllString(p[len(p)-1], "_")
		name = strings.TrimSuffix(strings.TrimSuffix(name, ".asc"), ".gpg")
	}
	return "/etc/apt/trusted.gpg.d/" + name + ".gpg"
}

// Run fetches the key on the host, dearmors it, and writes the keyring when
// it differs.
func (k *AptKey) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	path := k.keyring()
	res := &modules.Result{Data: map[string]any{"keyring": path}}
	q := modules.Quote(path)
	if k.State == "absent" {
		st, err := modules.Stat(ctx, env.Host, path, false)
		if err != nil || !st.Exists {
			return res, err
		}
		res.Changed = true
		res.Then(func(ctx context.Context) error {
			_, err := modules.RunOK(ctx, env.Host, "rm -f "+q, "rm keyring")
			return err
		})
		return res, nil
	}
	// fetching and comparing needs temporary files: the plan knows only
	// that a missing keyring changes; applying it compares the content
	st, err := modules.Stat(ctx, env.Host, path, false)
	if err != nil {
		return nil, err
	}
	res.Changed = !st.Exists
	if st.Exists {
		res.Msg = "the keyring exists; a real run compares its content"
	}
	res.Then(func(ctx context.Context) error {
		res.Msg = ""
		var get string
		var stdin []byte
		switch {
		case k.URL != "":
			get = "curl -fsSL -K -"
			stdin = []byte(curlConfig(k.URL, nil, "", "", false, 30).String())
		case k.Data != "":
			get, stdin = "cat", []byte(k.Data)
		default:
			get = "cat " + modules.Quote(k.File)
		}
		// the key as a binary keyring: armored keys are dearmored
		script := "set -e\nt=$(mktemp -d)\ntrap 'rm -rf \"$t\"' EXIT\n" + get + " > \"$t/key\"\n" +
			"if grep -q 'BEGIN PGP PUBLIC KEY BLOCK' \"$t/key\"; then gpg --batch --yes --dearmor -o \"$t/key.gpg\" \"$t/key\"; else cp \"$t/key\" \"$t/key.gpg\"; fi\n"
		if k.ID != "" {
			// the id is matched against the primary key's fingerprint only (a
			// user id may contain any text, a fingerprint among it), and the
			// file must hold that one key: apt trusts every key of a keyring
			id := strings.ToUpper(strings.TrimPrefix(strings.TrimPrefix(k.ID, "0x"), "0X"))
			script += "fprs=$(gpg --batch --show-keys --with-colons \"$t/key.gpg\" 2>/dev/null | awk -F: '$1==\"pub\"{p=1} $1==\"fpr\" && p {print toupper($10); p=0}')\n" +
				"[ \"$(printf '%s\\n' \"$fprs\" | grep -c .)\" = 1 ] || { echo \"the key file holds $(printf '%s\\n' \"$fprs\" | grep -c .) keys; with id it must hold exactly the one key\" >&2; exit 3; }\n" +
				"case \"$fprs\" in *" + id + ") ;; *) echo 'the key has no id " + id + "' >&2; exit 3 ;; esac\n"
		}
		script += "if cmp -s \"$t/key.gpg\" " + q + "; then echo same; exit 0; fi\n"
		script += "install -m 0644 \"$t/key.gpg\" " + q + "\necho new\n"
		r, err := env.Host.Run(ctx, modules.Cmd{Script: script, Stdin: stdin})
		if err != nil {
			return err
		}
		if r.RC != 0 {
			*res = *modules.Failf("apt_key: %s", strings.TrimSpace(r.Stderr))
			return nil
		}
		res.Changed = strings.TrimSpace(r.Stdout) == "new"
		return nil
	})
	return res, nil
}

var _ modules.Validator = (*AptKey)(nil)

package builtin

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// AptRepository adds or removes an APT source line (Ansible's
// apt_repository) in /etc/apt/sources.list.d, or a Launchpad PPA with its
// signing key.
type AptRepository struct {
	Repo        string       `yaml:"repo" doc:"the source line: deb [options] URL suite components"`
	State       string       `yaml:"state" doc:"present or absent" default:"present"`
	Filename    string       `yaml:"filename" doc:"the file's name without .list (default: from the URL, as Ansible)"`
	UpdateCache *bool        `yaml:"update_cache" aliases:"update-cache" doc:"apt-get update after a change" default:"true"`
	Mode        modules.Mode `yaml:"mode" doc:"the file's mode" default:"0644"`
	Codename    string       `yaml:"codename" doc:"a PPA's distribution codename (default: the host's, from /etc/os-release)"`
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

func init() {
	modules.Register(modules.Info{ID: "apt_repository", Summary: "Add or remove an APT source line in /etc/apt/sources.list.d (file named as Ansible names it), then apt-get update.",
		Example: "apt_repository:\n  repo: deb http://apt.postgresql.org/pub/repos/apt bookworm-pgdg main\n  filename: pgdg", New: func() modules.Module { return &AptRepository{} }})
	modules.Register(modules.Info{ID: "apt_key", Summary: "Keep an APT signing key as a keyring in /etc/apt/trusted.gpg.d (from a URL, data or a file).",
		Example: "apt_key:\n  url: https://www.postgresql.org/media/keys/ACCC4CF8.asc\n  id: ACCC4CF8", New: func() modules.Module { return &AptKey{} }})
}

var sourceLine = regexp.MustCompile(`^(deb|deb-src)\s+(\[[^\]]*\]\s+)?\S+://\S+\s+\S+`)

// Validate checks the arguments.
func (a *AptRepository) Validate() error {
	if strings.HasPrefix(a.Repo, "ppa:") {
		if !ppaName.MatchString(a.Repo) {
			return fmt.Errorf("apt_repository: %q is not a PPA (ppa:OWNER or ppa:OWNER/NAME)", a.Repo)
		}
		if a.Codename != "" && !codenameRE.MatchString(a.Codename) {
			return fmt.Errorf("apt_repository: codename %q is not a distribution codename", a.Codename)
		}
	} else if !sourceLine.MatchString(strings.TrimSpace(a.Repo)) {
		return fmt.Errorf("apt_repository: %q is not a source line (deb URL suite [components])", a.Repo)
	}
	if a.State != "present" && a.State != "absent" {
		return fmt.Errorf("apt_repository: state must be present or absent, got %q", a.State)
	}
	if strings.ContainsAny(a.Filename, "/ ") {
		return fmt.Errorf("apt_repository: filename %q is a name, not a path", a.Filename)
	}
	return nil
}

// SourceFileName is the file Ansible's apt_repository writes a line to:
// the URL's host and path with every other character an underscore.
func SourceFileName(line, filename string) string {
	if filename != "" {
		return filename + ".list"
	}
	line = regexp.MustCompile(`\[[^\]]+\]`).ReplaceAllString(line, "")
	line = regexp.MustCompile(`\w+://`).ReplaceAllString(line, "")
	var parts []string
	for _, p := range strings.Fields(line) {
		if p != "deb" && p != "deb-src" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return "runbook.list"
	}
	first := parts[0]
	if i := strings.Index(first, "@"); i >= 0 {
		first = first[i+1:]
	}
	clean := regexp.MustCompile(`[^a-zA-Z0-9]`).ReplaceAllString(first, " ")
	return strings.Join(strings.Fields(clean), "_") + ".list"
}

func normalSource(l string) string { return strings.Join(strings.Fields(l), " ") }

// Run adds the line to its file unless some source file has it, or
// removes it from every file.
func (a *AptRepository) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	var ppa *ppaSource
	if strings.HasPrefix(a.Repo, "ppa:") {
		var err error
		if ppa, err = a.expandPPA(ctx, env); err != nil {
			return nil, err
		}
	}
	want := normalSource(a.Repo)
	if ppa != nil {
		want = ppa.line
	}
	r, err := modules.RunOK(ctx, env.Host, `for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do [ -f "$f" ] && grep -H '' "$f"; done; true`, "read APT sources")
	if err != nil {
		return nil, err
	}
	files := map[string][]string{}
	var order []string
	found := false
	for _, l := range strings.Split(r.Stdout, "\n") {
		f, line, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		if _, seen := files[f]; !seen {
			order = append(order, f)
		}
		files[f] = append(files[f], line)
		found = found || normalSource(line) == want
	}
	res := &modules.Result{Data: map[string]any{"repo": a.Repo, "state": a.State}}
	var steps []func() error
	switch {
	case a.State == "present" && !found:
		path := "/etc/apt/sources.list.d/" + SourceFileName(a.Repo, a.Filename)
		if ppa != nil {
			path = "/etc/apt/sources.list.d/" + ppa.file(a.Filename)
			steps = append(steps, func() error { return ppa.addKey(ctx, env) })
		}
		lines := append(append([]string{}, files[path]...), want)
		steps = append(steps, func() error {
			_, err := modules.PutFile(ctx, env, modules.FileSpec{Path: path, Data: []byte(joinLines(lines)), Mode: a.Mode})
			return err
		})
		res.Msg = "added to " + path
	case a.State == "absent" && found:
		for _, f := range order {
			var keep []string
			hit := false
			for _, l := range files[f] {
				if normalSource(l) == want {
					hit = true
				} else {
					keep = append(keep, l)
				}
			}
			if !hit {
				continue
			}
			f, keep := f, keep
			steps = append(steps, func() error {
				if len(keep) == 0 && strings.HasPrefix(f, "/etc/apt/sources.list.d/") {
					_, err := modules.RunOK(ctx, env.Host, "rm -f "+modules.Quote(f), "rm")
					return err
				}
				_, err := modules.PutFile(ctx, env, modules.FileSpec{Path: f, Data: []byte(joinLines(keep))})
				return err
			})
		}
		res.Msg = "removed"
	}
	if len(steps) == 0 {
		return res, nil
	}
	res.Changed = true
	if env.Check {
		return res, nil
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, err
		}
	}
	if a.UpdateCache == nil || *a.UpdateCache {
		if _, err := modules.RunOK(ctx, env.Host, "DEBIAN_FRONTEND=noninteractive apt-get update -q", "apt-get update"); err != nil {
			return nil, err
		}
	}
	return res, nil
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
		if !env.Check {
			_, err = modules.RunOK(ctx, env.Host, "rm -f "+q, "rm keyring")
		}
		return res, err
	}
	if env.Check {
		// fetching and comparing needs temporary files: under --check only
		// a missing keyring is known to change
		st, err := modules.Stat(ctx, env.Host, path, false)
		if err != nil {
			return nil, err
		}
		res.Changed = !st.Exists
		if st.Exists {
			res.Msg = "the keyring exists; a real run compares its content"
		}
		return res, nil
	}
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
		return nil, err
	}
	if r.RC != 0 {
		return modules.Failf("apt_key: %s", strings.TrimSpace(r.Stderr)), nil
	}
	res.Changed = strings.TrimSpace(r.Stdout) == "new"
	return res, nil
}

var (
	_ modules.Validator = (*AptRepository)(nil)
	_ modules.Validator = (*AptKey)(nil)
)

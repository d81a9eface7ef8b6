package builtin

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// Deb822Repository is Ansible's deb822_repository (ansible-core 2.15): an
// apt source as /etc/apt/sources.list.d/SLUG.sources in deb822 form, its
// fields in Ansible's order and spelling; signed_by may be a key's URL
// (downloaded on the host into /etc/apt/keyrings/SLUG.asc or .gpg), a file
// on the host, or the key itself.
type Deb822Repository struct {
	Name       string             `yaml:"name" required:"true" doc:"the repository's name (X-Repolib-Name; its slug names the files)"`
	Types      modules.StringList `yaml:"types" doc:"deb and/or deb-src (default: deb)"`
	URIs       modules.StringList `yaml:"uris" doc:"the repository's URIs"`
	Suites     modules.StringList `yaml:"suites" doc:"suites, e.g. bookworm"`
	Components modules.StringList `yaml:"components" doc:"components, e.g. main"`
	SignedBy   string             `yaml:"signed_by" doc:"the key: a URL (downloaded), a file on the host, or the armored key itself"`
	Arch       modules.StringList `yaml:"architectures" doc:"architectures"`
	Languages  modules.StringList `yaml:"languages" doc:"languages"`
	Targets    modules.StringList `yaml:"targets" doc:"targets"`
	State      string             `yaml:"state" default:"present" doc:"present or absent"`
	Mode       modules.Mode       `yaml:"mode" default:"0644" doc:"the .sources file's mode"`

	Enabled            *bool  `yaml:"enabled" doc:"Enabled: yes/no"`
	Trusted            *bool  `yaml:"trusted" doc:"Trusted: yes/no"`
	AllowInsecure      *bool  `yaml:"allow_insecure" doc:"Allow-Insecure"`
	AllowWeak          *bool  `yaml:"allow_weak" doc:"Allow-Weak"`
	AllowDowngrade     *bool  `yaml:"allow_downgrade_to_insecure" doc:"Allow-Downgrade-To-Insecure"`
	ByHash             *bool  `yaml:"by_hash" doc:"By-Hash"`
	CheckDate          *bool  `yaml:"check_date" doc:"Check-Date"`
	CheckValidUntil    *bool  `yaml:"check_valid_until" doc:"Check-Valid-Until"`
	PDiffs             *bool  `yaml:"pdiffs" doc:"PDiffs"`
	DateMaxFuture      *int   `yaml:"date_max_future" doc:"Date-Max-Future"`
	InReleasePath      string `yaml:"inrelease_path" doc:"InRelease-Path"`
	InstallPythonDebia *bool  `yaml:"install_python_debian" doc:"accepted for Ansible playbooks: runbook needs no Python on the host"`
}

func init() {
	modules.Register(modules.Info{ID: "deb822_repository", Summary: "An apt source in deb822 form (/etc/apt/sources.list.d/NAME.sources), its key downloaded into /etc/apt/keyrings",
		Example: "deb822_repository:\n  name: pgdg\n  uris: http://apt.postgresql.org/pub/repos/apt\n  suites: bookworm-pgdg\n  components: main\n  signed_by: https://www.postgresql.org/media/keys/ACCC4CF8.asc",
		New:     func() modules.Module { return &Deb822Repository{} }})
}

// Validate checks the choices.
func (d *Deb822Repository) Validate() error {
	if d.State != "present" && d.State != "absent" {
		return fmt.Errorf("deb822_repository: state %q: expected present or absent", d.State)
	}
	for _, t := range d.Types {
		if t != "deb" && t != "deb-src" {
			return fmt.Errorf("deb822_repository: types: %q is not deb or deb-src", t)
		}
	}
	return nil
}

var slugDrop, slugDash = regexp.MustCompile(`[^a-z0-9-]+`), regexp.MustCompile(`[_\s]+`)

// slug is Ansible's file name for the repository.
func (d *Deb822Repository) slug() string {
	return slugDrop.ReplaceAllString(slugDash.ReplaceAllString(strings.ToLower(d.Name), "-"), "")
}

// fieldName is Ansible's spelling of a field (format_field_name).
func fieldName(arg string) string {
	switch arg {
	case "name":
		return "X-Repolib-Name"
	case "uris":
		return "URIs"
	}
	parts := strings.Split(arg, "_")
	for i, p := range parts {
		parts[i] = strings.ToUpper(p[:1]) + p[1:]
	}
	return strings.Join(parts, "-")
}

// render is the .sources file: fields sorted by argument name, as Ansible
// writes them; signedBy is what the Signed-By field holds.
func (d *Deb822Repository) render(signedBy string) string {
	fields := map[string]string{"name": d.Name}
	types := d.Types
	if len(types) == 0 {
		types = []string{"deb"}
	}
	fields["types"] = strings.Join(types, " ")
	v := reflect.ValueOf(d).Elem()
	for i := 0; i < v.NumField(); i++ {
		key := strings.Split(v.Type().Field(i).Tag.Get("yaml"), ",")[0]
		switch key {
		case "name", "types", "state", "mode", "install_python_debian", "signed_by":
			continue
		}
		switch f := v.Field(i).Interface().(type) {
		case modules.StringList:
			if len(f) > 0 {
				fields[key] = strings.Join(f, " ")
			}
		case *bool:
			if f != nil {
				fields[key] = map[bool]string{true: "yes", false: "no"}[*f]
			}
		case *int:
			if f != nil {
				fields[key] = fmt.Sprint(*f)
			}
		case string:
			if f != "" {
				fields[key] = f
			}
		}
	}
	if signedBy != "" {
		fields["signed_by"] = signedBy
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		val := fields[k]
		if strings.Contains(val, "\n") {
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(val), "\n") {
				if l = strings.TrimSpace(l); l == "" {
					l = "."
				}
				lines = append(lines, "    "+l)
			}
			val = "\n" + strings.Join(lines, "\n")
		}
		if strings.HasPrefix(val, "\n") {
			fmt.Fprintf(&b, "%s:%s\n", fieldName(k), val) // no space before a value on its own lines (python-debian)
		} else {
			fmt.Fprintf(&b, "%s: %s\n", fieldName(k), val)
		}
	}
	return b.String()
}

// Run writes the key (when a URL) and the .sources file.
func (d *Deb822Repository) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	slug := d.slug()
	sources := "/etc/apt/sources.list.d/" + slug + ".sources"
	keyBase := "/etc/apt/keyrings/" + slug
	res := &modules.Result{Data: map[string]any{"dest": sources}}
	if d.State == "absent" {
		r, err := modules.RunOK(ctx, env.Host, "for f in "+modules.Join(sources, keyBase+".asc", keyBase+".gpg")+`; do [ -e "$f" ] && echo "$f"; done; true`, "deb822_repository")
		if err != nil {
			return nil, err
		}
		if present := strings.Fields(r.Stdout); len(present) > 0 {
			res.Changed, res.Msg = true, "remove "+strings.Join(present, " ")
			res.Then(func(ctx context.Context) error {
				_, err := modules.RunOK(ctx, env.Host, "rm -f -- "+modules.Join(present...), "deb822_repository")
				return err
			})
		}
		return res, nil
	}
	signedBy := d.SignedBy
	var fetch func(ctx context.Context) error
	if strings.Contains(d.SignedBy, "://") {
		file, changed, err := d.fetchKey(ctx, env, keyBase, false)
		if err != nil {
			return nil, err
		}
		signedBy, res.Changed = file, changed
		res.Data["key_filename"] = file
		if changed {
			fetch = func(ctx context.Context) error {
				_, _, err := d.fetchKey(ctx, env, keyBase, true)
				return err
			}
		}
	}
	text := d.render(signedBy)
	mode := d.Mode
	if !mode.Set {
		mode = modules.Mode{Set: true, Perm: 0o644}
	}
	put, err := modules.PutFile(ctx, env, modules.FileSpec{Path: sources, Data: []byte(text), Mode: mode, Owner: "root", Group: "root"})
	if err != nil {
		return nil, err
	}
	put.Changed = put.Changed || res.Changed
	if fetch != nil { // the key first, then the file that names it
		write := put.Apply
		put.Apply = fetch
		put.Then(write)
	}
	for k, v := range res.Data {
		put.Data[k] = v
	}
	put.Data["repo"] = text
	return put, nil
}

// fetchKey downloads the key on the host (curl) into KEYBASE.asc (armored)
// or .gpg, replacing the file only when it differs; without write (the
// plan) it only compares.
func (d *Deb822Repository) fetchKey(ctx context.Context, env *modules.Env, keyBase string, write bool) (string, bool, error) {
	vars := "url=" + modules.Quote(d.SignedBy) + " base=" + modules.Quote(keyBase) + "\n"
	script := vars + `set -e
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
curl -fsSL --max-time 60 -- "$url" > "$tmp"
if grep -q -- '-----BEGIN PGP PUBLIC KEY BLOCK-----' "$tmp"; then f="$base.asc"; else f="$base.gpg"; fi
if [ -f "$f" ] && cmp -s "$tmp" "$f"; then echo "same $f"; exit 0; fi
install -d -m 0755 /etc/apt/keyrings && install -m 0644 "$tmp" "$f"
echo "changed $f"`
	if !write {
		// compare without writing anything, not even a temporary file
		script = vars + `set -e
sum=$(curl -fsSL --max-time 60 -- "$url" | sha256sum | cut -d' ' -f1)
for f in "$base.asc" "$base.gpg"; do
  if [ -f "$f" ] && [ "$(sha256sum < "$f" | cut -d' ' -f1)" = "$sum" ]; then echo "same $f"; exit 0; fi
done
if curl -fsSL --max-time 60 -- "$url" | grep -q -- '-----BEGIN PGP PUBLIC KEY BLOCK-----'; then echo "changed $base.asc"; else echo "changed $base.gpg"; fi`
	}
	r, err := modules.RunOK(ctx, env.Host, script, "downloading the repository key")
	if err != nil {
		return "", false, err
	}
	f := strings.Fields(r.Stdout)
	if len(f) != 2 {
		return "", false, fmt.Errorf("deb822_repository: unexpected answer from the key download: %q", r.Stdout)
	}
	return f[1], f[0] == "changed", nil
}

var _ modules.Validator = (*Deb822Repository)(nil)

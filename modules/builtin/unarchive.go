package builtin

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/runbook-lab/runbook/internal/inputfile"
	"github.com/runbook-lab/runbook/modules"
)

// Unarchive unpacks a tar or zip archive into a folder on the host
// (Ansible's unarchive); files already there and equal are left alone.
type Unarchive struct {
	Src       string             `yaml:"src" doc:"the archive: a file on the machine running runbook (role files/ first), or on the host with remote_src (a URL there: the host downloads it)"`
	Dest      string             `yaml:"dest" doc:"the folder it unpacks into (must exist)"`
	RemoteSrc bool               `yaml:"remote_src" doc:"src is on the host"`
	Copy      *bool              `yaml:"copy" doc:"the older spelling: copy: false is remote_src: true"`
	Creates   string             `yaml:"creates" doc:"skip when this path exists on the host"`
	Mode      modules.Mode       `yaml:"mode" doc:"octal mode for the unpacked files"`
	Owner     string             `yaml:"owner" doc:"owner of the unpacked files"`
	Group     string             `yaml:"group" doc:"group of the unpacked files"`
	ExtraOpts modules.StringList `yaml:"extra_opts" doc:"extra options for tar or unzip"`
	Exclude   modules.StringList `yaml:"exclude" doc:"paths in the archive not to unpack"`
	ListFiles bool               `yaml:"list_files" doc:"return the archive's file list as files"`
}

func init() {
	modules.Register(modules.Info{ID: "unarchive", Summary: "Unpack a tar (gz, bz2, xz) or zip archive into a folder; unchanged files are left alone.",
		Example: "unarchive:\n  src: tool.tar.gz\n  dest: /opt\n  creates: /opt/tool/bin/tool", New: func() modules.Module { return &Unarchive{} }})
}

// Validate checks the arguments.
func (u *Unarchive) Validate() error {
	if u.Src == "" || u.Dest == "" {
		return errors.New("unarchive: src and dest are required")
	}
	if u.Copy != nil {
		if u.RemoteSrc && *u.Copy {
			return errors.New("unarchive: copy and remote_src are mutually exclusive")
		}
		u.RemoteSrc = !*u.Copy
	}
	if strings.Contains(u.Src, "://") && !u.RemoteSrc {
		return errors.New("unarchive: a URL src needs remote_src: true, and the host downloads it (without it Ansible looks for a local file of that name)")
	}
	return nil
}

func archiveKind(name string) string {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".zip") || strings.HasSuffix(n, ".jar"):
		return "zip"
	case strings.HasSuffix(n, ".tar.gz") || strings.HasSuffix(n, ".tgz"):
		return "tar -z"
	case strings.HasSuffix(n, ".tar.bz2") || strings.HasSuffix(n, ".tbz2"):
		return "tar -j"
	case strings.HasSuffix(n, ".tar.xz") || strings.HasSuffix(n, ".txz"):
		return "tar -J"
	case strings.HasSuffix(n, ".tar.zst"):
		return "tar --zstd"
	}
	return "tar"
}

// Run unpacks into a temporary folder next to dest, compares, and copies
// over only when something differs.
func (u *Unarchive) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	res := &modules.Result{Data: map[string]any{"dest": u.Dest, "src": u.Src}}
	if u.Creates != "" {
		st, err := modules.Stat(ctx, env.Host, u.Creates, false)
		if err != nil {
			return nil, err
		}
		if st.Exists {
			res.Msg = "skipped: " + u.Creates + " exists"
			return res, nil
		}
	}
	ds, err := modules.Stat(ctx, env.Host, u.Dest, false)
	if err != nil {
		return nil, err
	}
	if !ds.IsDir {
		return modules.Failf("unarchive: dest %s is not a folder", u.Dest), nil
	}
	var data []byte
	if !u.RemoteSrc {
		if data, err = inputfile.Read(modules.FindLocal(env, u.Src, "files")); err != nil {
			return modules.Failf("unarchive: src: %v", err), nil
		}
	}
	kind := archiveKind(u.Src)
	var extra []string
	for _, o := range u.ExtraOpts {
		extra = append(extra, modules.Quote(o))
	}
	var excl []string
	for _, x := range u.Exclude {
		if kind == "zip" {
			excl = append(excl, modules.Quote(x))
		} else {
			excl = append(excl, "--exclude="+modules.Quote(x))
		}
	}
	unpack := kind + ` -x -f "$a" -C "$w" ` + strings.Join(append(extra, excl...), " ")
	list := kind + ` -t -f "$a"`
	if kind == "zip" {
		unpack = `unzip -q -o ` + strings.Join(extra, " ") + ` "$a" -d "$w"`
		if len(excl) > 0 {
			unpack += " -x " + strings.Join(excl, " ")
		}
		list = `unzip -Z1 "$a"`
	}
	parent := filepath.Dir(strings.TrimSuffix(u.Dest, "/"))
	var b strings.Builder
	b.WriteString("set -e\numask 022\n")
	// everything of this run lives inside one private folder (mktemp -d
	// makes it 0700): the archive, its listing and the unpacked tree, so
	// another local user cannot swap any of them before root reads them
	fmt.Fprintf(&b, "p=$(mktemp -d %s)\ntrap 'rm -rf \"$p\"' EXIT\nw=\"$p/tree\"\nmkdir \"$w\"\n", modules.Quote(parent+"/.runbook-unarchive.XXXXXX"))
	download := u.RemoteSrc && strings.Contains(u.Src, "://")
	switch {
	case download: // as Ansible: the host fetches the URL first
		b.WriteString("a=\"$p/archive\"\n(umask 077; curl -fsSL -K - > \"$a\")\n")
		data = []byte(curlConfig(u.Src, nil, "", "", false, 0).String())
	case u.RemoteSrc:
		b.WriteString(modules.RefuseSpecial(modules.Quote(u.Src)))
		fmt.Fprintf(&b, "a=%s\n", modules.Quote(u.Src))
	default:
		b.WriteString("a=\"$p/archive\"\n(umask 077; cat > \"$a\")\n")
	}
	b.WriteString(list + " > \"$p/list\" 2>/dev/null || true\n")
	b.WriteString(unpack + " >&2\n")
	// what differs: a file missing or not equal in dest (only a regular
	// file is compared: cmp on a FIFO planted in dest would wait forever)
	fmt.Fprintf(&b, "d=%s\ncd \"$w\"\nchanged=$(find . -type f -o -type l | while IFS= read -r f; do { [ -f \"$d/$f\" ] && cmp -s \"$f\" \"$d/$f\"; } 2>/dev/null || { echo x; break; }; done)\n", modules.Quote(u.Dest))
	b.WriteString("cat \"$p/list\"\n[ -z \"$changed\" ] && { echo '#same'; exit 0; }\n")
	if env.Check {
		b.WriteString("echo '#would'\n")
	} else {
		// the entries, not ".": copying "." would give dest the private
		// folder's owner, mode 0700 and mtime
		b.WriteString("find . -mindepth 1 -maxdepth 1 -exec cp -a -t \"$d\" {} +\n")
		own := u.Owner + ":" + u.Group
		if u.Owner != "" || u.Group != "" {
			fmt.Fprintf(&b, "find . -mindepth 1 -maxdepth 1 -exec sh -c 'chown -R \"$0\" \"$1/$2\"' %s \"$d\" {} \\;\n", modules.Quote(own))
		}
		if u.Mode.Symbolic != "" {
			fmt.Fprintf(&b, "find . -mindepth 1 -maxdepth 1 -exec sh -c 'chmod -R \"$0\" \"$1/$2\"' %s \"$d\" {} \\;\n", modules.Quote(u.Mode.Symbolic))
		} else if u.Mode.Set {
			fmt.Fprintf(&b, "find . -mindepth 1 -maxdepth 1 -exec sh -c 'chmod -R %o \"$0/$1\"' \"$d\" {} \\;\n", u.Mode.Perm)
		}
		// an archive of "." dates dest as its first entry says, as tar
		// extracting straight into dest (Ansible) does
		b.WriteString("if grep -qx '\\./\\{0,1\\}' \"$p/list\"; then touch -r \"$w\" \"$d\"; fi\n")
		b.WriteString("echo '#new'\n")
	}
	if env.Check && download {
		res.Changed, res.Msg = true, "would download "+u.Src+" and unpack it"
		return res, nil
	}
	if env.Check {
		// unpacking into a temporary folder changes nothing the user has,
		// but the check-mode contract allows no extraction: compare names
		return u.checkOnly(ctx, env, res, kind, data)
	}
	r, err := env.Host.Run(ctx, modules.Cmd{Script: b.String(), Stdin: data})
	if err != nil {
		return nil, err
	}
	if r.RC != 0 {
		return modules.Failf("unarchive %s: %s", u.Src, modules.LastLines(strings.TrimSpace(r.Stderr), 8)), nil
	}
	out := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	res.Changed = len(out) > 0 && out[len(out)-1] == "#new"
	if u.ListFiles {
		res.Data["files"] = modules.AnyList(out[:max(len(out)-1, 0)])
	}
	return res, nil
}

// checkOnly is --check: the archive's listing against dest (a missing path
// is a change; contents are not compared without unpacking).
func (u *Unarchive) checkOnly(ctx context.Context, env *modules.Env, res *modules.Result, kind string, data []byte) (*modules.Result, error) {
	list := kind + " -t -f " + modules.Quote(u.Src)
	if kind == "zip" {
		list = "unzip -Z1 " + modules.Quote(u.Src)
	}
	if !u.RemoteSrc {
		list = strings.Replace(list, modules.Quote(u.Src), "-", 1)
		if kind == "zip" {
			res.Changed, res.Msg = true, "would unpack "+u.Src
			return res, nil
		}
	}
	script := list + " | while IFS= read -r f; do [ -e " + modules.Quote(u.Dest) + "/\"$f\" ] || { echo missing; break; }; done"
	r, err := env.Host.Run(ctx, modules.Cmd{Script: script, Stdin: data})
	if err != nil {
		return nil, err
	}
	res.Changed = strings.Contains(r.Stdout, "missing") || r.RC != 0
	if res.Changed {
		res.Msg = "would unpack " + u.Src
	}
	return res, nil
}

var _ modules.Validator = (*Unarchive)(nil)

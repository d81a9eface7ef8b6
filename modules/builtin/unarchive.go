package builtin

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
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
	// the plan compares names only (no extraction before Apply); Apply
	// unpacks into the private folder, compares contents too and says
	// what it really changed
	if download {
		res.Changed, res.Msg = true, "download "+u.Src+" and unpack it"
	} else if err := u.plan(ctx, env, res, kind, data, excl); err != nil || res.Failed {
		return res, err
	}
	res.Apply = func(ctx context.Context) error {
		r, err := env.Host.Run(ctx, modules.Cmd{Script: b.String(), Stdin: data})
		if err != nil {
			return err
		}
		if r.RC != 0 {
			*res = *modules.Failf("unarchive %s: %s", u.Src, modules.LastLines(strings.TrimSpace(r.Stderr), 8))
			return nil
		}
		out := strings.Split(strings.TrimSpace(r.Stdout), "\n")
		res.Changed = len(out) > 0 && out[len(out)-1] == "#new"
		res.Msg = map[bool]string{true: "unpacked " + u.Src}[res.Changed]
		if u.ListFiles {
			res.Data["files"] = modules.AnyList(out[:max(len(out)-1, 0)])
		}
		return nil
	}
	return res, nil
}

// plan compares the archive's names with dest's: a missing path is a
// change (contents are compared only when Apply unpacks). An archive on
// the controller is listed here, so it crosses the wire once.
func (u *Unarchive) plan(ctx context.Context, env *modules.Env, res *modules.Result, kind string, data []byte, excl []string) error {
	var script string
	var names []byte
	if u.RemoteSrc {
		// a FIFO or device as src is refused before anything reads it
		script = modules.RefuseSpecial(modules.Quote(u.Src)) + kind + " -t -f " + modules.Quote(u.Src) + " " + strings.Join(excl, " ")
		if kind == "zip" {
			script = "unzip -Z1 " + modules.Quote(u.Src)
			if len(excl) > 0 {
				script += " -x " + strings.Join(excl, " ")
			}
		}
	} else {
		list, ok := archiveNames(kind, data)
		if !ok { // a compression Go cannot read here (xz, zstd): unknown
			res.Changed, res.Msg = true, "unpack "+u.Src
			return nil
		}
		var kept []string
		for _, n := range list {
			if !excluded(n, u.Exclude) {
				kept = append(kept, n)
			}
		}
		script, names = "cat", []byte(strings.Join(kept, "\n")+"\n")
	}
	script += " | while IFS= read -r f; do [ -e " + modules.Quote(u.Dest) + "/\"$f\" ] || { echo missing; break; }; done"
	r, err := env.Host.Run(ctx, modules.Cmd{Script: script, Stdin: names})
	if err != nil {
		return err
	}
	if r.RC == 4 && u.RemoteSrc {
		*res = *modules.Failf("unarchive %s: %s", u.Src, strings.TrimSpace(r.Stderr))
		return nil
	}
	if strings.Contains(r.Stdout, "missing") || r.RC != 0 {
		res.Changed, res.Msg = true, "unpack "+u.Src
	}
	return nil
}

// excluded says whether an entry matches an exclude pattern as tar's
// --exclude does: the pattern matches the name or one of its folders.
func excluded(name string, patterns []string) bool {
	name = strings.TrimSuffix(strings.TrimPrefix(name, "./"), "/")
	for _, p := range patterns {
		p = strings.TrimSuffix(strings.TrimPrefix(p, "./"), "/")
		for n := name; n != "." && n != "/" && n != ""; n = path.Dir(n) {
			if ok, _ := path.Match(p, n); ok {
				return true
			}
		}
	}
	return false
}

// archiveNames lists a tar (plain, gzip, bzip2) or zip archive's entries;
// false for a compression it cannot read or a damaged archive.
func archiveNames(kind string, data []byte) ([]string, bool) {
	var names []string
	if kind == "zip" {
		z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, false
		}
		for _, f := range z.File {
			names = append(names, f.Name)
		}
		return names, true
	}
	var r io.Reader = bytes.NewReader(data)
	switch kind {
	case "tar -z":
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, false
		}
		r = gz
	case "tar -j":
		r = bzip2.NewReader(r)
	case "tar":
	default:
		return nil, false
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names, true
		}
		if err != nil {
			return nil, false
		}
		if strings.ContainsAny(h.Name, "\n") { // one name per line on the wire
			return nil, false
		}
		names = append(names, h.Name)
	}
}

var _ modules.Validator = (*Unarchive)(nil)

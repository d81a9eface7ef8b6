package modules

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"strings"

	"github.com/runbook-lab/runbook/internal/shellwords"
)

// FileState is what ReadFile learns about a path in one round trip.
type FileState struct {
	Exists  bool
	IsDir   bool
	IsLink  bool
	Special bool // a FIFO, a device or a socket: never read
	Mode    fs.FileMode
	Owner   string
	Group   string
	Content []byte // only for regular files, when asked
}

// RefuseSpecial is a shell line that ends the script with status 4 and a
// message when the quoted path q is a FIFO, a device or a socket: reading
// one waits for a writer forever or never ends (/dev/zero). Regular files,
// directories and missing paths pass (symbolic links are followed).
func RefuseSpecial(q string) string {
	// the path goes through a variable: never inside a command substitution's text
	return "rb_path=" + q + "\n" +
		`if [ -e "$rb_path" ] && [ ! -f "$rb_path" ] && [ ! -d "$rb_path" ]; then ` +
		`printf '%s is a %s, not a regular file: runbook does not read it\n' "$rb_path" "$(stat -L -c %F -- "$rb_path")" >&2; exit 4; fi` + "\n"
}

// MaxEditSize bounds a file Stat reads whole (to edit or compare it): a
// host's multi-gigabyte log must not be pulled into the controller's memory.
const MaxEditSize = 64 << 20

// Stat reads a path's type, mode and owner (and content when withContent),
// in one command. A path that is neither a regular file, a directory nor a
// symbolic link (a FIFO, a device, a socket) is never read: reading a FIFO
// waits for a writer forever and /dev/zero never ends; with withContent it
// is an error naming what it is, as is a file over MaxEditSize.
func Stat(ctx context.Context, h Host, path string, withContent bool) (*FileState, error) {
	script := "p=" + Quote(path) + `
if [ -L "$p" ]; then t=link; elif [ -d "$p" ]; then t=dir; elif [ -f "$p" ]; then t=file; elif [ -e "$p" ]; then t=special; else echo absent; exit 0; fi
echo "$t $(stat -c '%a %U %G %s' "$p") $(stat -c %F "$p" | tr ' ' _)"`
	if withContent {
		script += fmt.Sprintf(`
if [ "$t" = file ] && [ "$(stat -c %%s "$p")" -le %d ]; then cat "$p"; fi`, MaxEditSize)
	}
	r, err := h.Run(ctx, Cmd{Script: script})
	if err != nil {
		return nil, err
	}
	if r.RC != 0 {
		return nil, fmt.Errorf("stat %s: %s", path, strings.TrimSpace(r.Stderr))
	}
	head, body, _ := strings.Cut(r.Stdout, "\n")
	if head == "absent" {
		return &FileState{}, nil
	}
	var t, kind string
	var mode uint32
	var size int64
	st := &FileState{Exists: true}
	if _, err := fmt.Sscanf(head, "%s %o %s %s %d %s", &t, &mode, &st.Owner, &st.Group, &size, &kind); err != nil {
		return nil, fmt.Errorf("stat %s: unexpected output %q", path, head)
	}
	st.Mode = fs.FileMode(mode)
	st.IsDir, st.IsLink, st.Special = t == "dir", t == "link", t == "special"
	if withContent && st.Special {
		return nil, fmt.Errorf("%s is a %s, not a regular file: runbook does not read it", path, strings.ReplaceAll(kind, "_", " "))
	}
	if withContent && t == "file" && size > MaxEditSize {
		return nil, fmt.Errorf("%s is %d bytes: runbook reads files of up to %d MiB to edit or compare them", path, size, MaxEditSize>>20)
	}
	if withContent && t == "file" {
		st.Content = []byte(body)
	}
	return st, nil
}

// writeFile writes spec.Data to spec.Path atomically: a temporary file in
// the same directory gets the content, mode and owner first, is checked by
// spec.Validate, then is renamed over the target, so a reader never sees a
// half-written or invalid file, even if runbook is interrupted. It returns
// the backup's path when spec.Backup made one.
func writeFile(ctx context.Context, h Host, spec FileSpec, mode fs.FileMode, owner, group string) (string, error) {
	path, data := spec.Path, spec.Data
	dir := path[:strings.LastIndex(path, "/")+1]
	if dir == "" {
		dir = "./"
	}
	var b strings.Builder
	b.WriteString("set -e\numask 077\n")
	fmt.Fprintf(&b, "t=$(mktemp %s)\n", Quote(dir+".runbook.XXXXXX"))
	b.WriteString("trap 'rm -f \"$t\"' EXIT\ntrap 'rm -f \"$t\"; exit 1' INT TERM HUP PIPE\n")
	b.WriteString("cat > \"$t\"\n")
	// An interrupted transfer looks like a normal end of input to cat: only
	// a file of the full size may replace the target.
	fmt.Fprintf(&b, "n=$(wc -c < \"$t\"); [ \"$n\" -eq %d ] || { echo \"short write: $n of %d bytes\" >&2; exit 1; }\n", len(data), len(data))
	fmt.Fprintf(&b, "chmod %o \"$t\"\n", mode.Perm())
	if owner != "" || group != "" {
		fmt.Fprintf(&b, "chown %s \"$t\"\n", Quote(owner+":"+group))
	}
	if spec.Validate != "" {
		cmd, err := validateCommand(spec.Validate)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%s >&2 || { echo %s >&2; exit 1; }\n", cmd, Quote("validate failed: "+spec.Validate))
	}
	if spec.Backup {
		fmt.Fprintf(&b, "if [ -e %s ]; then bk=%s.$$.$(date +%%Y-%%m-%%d@%%H:%%M:%%S)~; cp -p %s \"$bk\"; echo \"$bk\"; fi\n", Quote(path), Quote(path), Quote(path))
	}
	fmt.Fprintf(&b, "mv -f \"$t\" %s\ntrap - EXIT\n", Quote(path))
	r, err := h.Run(ctx, Cmd{Script: b.String(), Stdin: data, Secret: spec.Secret})
	if err != nil {
		return "", err
	}
	if r.RC != 0 {
		return "", fmt.Errorf("write %s: %s", path, strings.TrimSpace(r.Stderr))
	}
	return strings.TrimSpace(r.Stdout), nil
}

// validateCommand is Ansible's validate: a command (not a shell line) whose
// %s is the new file's path; every word is quoted.
func validateCommand(v string) (string, error) {
	words, err := shellwords.Split(v)
	if err != nil {
		return "", fmt.Errorf("validate: %v", err)
	}
	if !strings.Contains(v, "%s") {
		return "", fmt.Errorf("validate: %q has no %%s for the file's path", v)
	}
	out := make([]string, len(words))
	for i, w := range words {
		parts := strings.Split(w, "%s")
		for k, p := range parts {
			parts[k] = Quote(p)
		}
		out[i] = strings.Join(parts, `"$t"`)
	}
	return strings.Join(out, " "), nil
}

// FileAttrs are the arguments every module that writes a whole file
// shares (copy, template, lineinfile, blockinfile, replace, assemble),
// embedded inline.
type FileAttrs struct {
	Mode     Mode   `yaml:"mode" doc:"octal mode such as 0644 (a new file: 0644; an existing one keeps its own)"`
	Owner    string `yaml:"owner" doc:"owner (default: kept, or the connecting user for a new file)"`
	Group    string `yaml:"group" doc:"group"`
	Backup   bool   `yaml:"backup" doc:"keep the old file as PATH.PID.DATE@TIME~"`
	CheckCmd string `yaml:"validate" doc:"command that checks the new file before it replaces the old one; %s is its path"`
}

// Spec is the file at path with data and these attributes.
func (a FileAttrs) Spec(path string, data []byte) FileSpec {
	return FileSpec{Path: path, Data: data, Mode: a.Mode, Owner: a.Owner, Group: a.Group, Backup: a.Backup, Validate: a.CheckCmd}
}

// FileSpec is a file's wanted content and attributes.
type FileSpec struct {
	Path         string
	Data         []byte
	Mode         Mode
	Owner, Group string
	Secret       bool // never shown in a diff
	// Validate is a command run on the new file before it replaces the
	// old one (%s is its path), e.g. "visudo -cf %s".
	Validate string
	// Backup keeps the old file as PATH.PID.DATE@TIME~ (Ansible's name).
	Backup bool
	// KeepExisting leaves a file that exists alone (Ansible's force: false).
	KeepExisting bool
}

// PutFile brings a file to spec: reads it first (one round trip), reports
// the difference, and in apply mode writes it atomically. Shared by copy,
// file_template, lineinfile and the PostgreSQL config modules.
func PutFile(ctx context.Context, env *Env, spec FileSpec) (*Result, error) {
	if spec.Mode.Preserve && !spec.Mode.Set {
		return Failf("mode: preserve takes a source file's mode: copy (with src) and template have one, this task has none"), nil
	}
	st, err := Stat(ctx, env.Host, spec.Path, true)
	if err != nil {
		return nil, err
	}
	if st.IsDir {
		return nil, fmt.Errorf("%s is a directory", spec.Path)
	}
	mode := fs.FileMode(0o644)
	if st.Exists {
		mode = st.Mode
	}
	if spec.Mode.Set {
		mode = spec.Mode.For(mode, false)
	}
	owner, group := spec.Owner, spec.Group
	// Rewriting a file keeps its owner unless told otherwise (the new file
	// would else belong to whoever runs the command).
	keepOwner := st.Exists && owner == "" && group == ""
	contentChanged := !st.Exists || !bytes.Equal(st.Content, spec.Data)
	attrChanged := st.Exists && (mode != st.Mode || (owner != "" && owner != st.Owner) || (group != "" && group != st.Group))
	res := &Result{Data: map[string]any{"path": spec.Path, "dest": spec.Path}}
	if !contentChanged && !attrChanged || spec.KeepExisting && st.Exists {
		return res, nil
	}
	res.Changed = true
	if env.Diff {
		d := Diff{Path: spec.Path, Before: string(st.Content), After: string(spec.Data)}
		if spec.Secret {
			d.Before, d.After = "(secret content hidden)\n", "(secret content changed)\n"
			if !contentChanged {
				d.After = d.Before
			}
		}
		if attrChanged {
			d.Before += fmt.Sprintf("# mode %04o owner %s:%s\n", st.Mode, st.Owner, st.Group)
			d.After += fmt.Sprintf("# mode %04o owner %s:%s\n", mode, Or(owner, st.Owner), Or(group, st.Group))
		}
		res.Diffs = append(res.Diffs, d)
	}
	res.Then(func(ctx context.Context) error {
		if keepOwner {
			owner, group = st.Owner, st.Group
		}
		backup, err := writeFile(ctx, env.Host, spec, mode, owner, group)
		if err != nil {
			return err
		}
		if backup != "" {
			res.Data["backup_file"] = backup
		}
		return nil
	})
	return res, nil
}

// Or is a, or b when a is empty.
func Or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

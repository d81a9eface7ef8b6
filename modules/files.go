package modules

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
)

// FileState is what ReadFile learns about a path in one round trip.
type FileState struct {
	Exists  bool
	IsDir   bool
	IsLink  bool
	Mode    fs.FileMode
	Owner   string
	Group   string
	Content []byte // only for regular files, when asked
}

// Stat reads a path's type, mode and owner (and content when withContent),
// in one command.
func Stat(ctx context.Context, h Host, path string, withContent bool) (*FileState, error) {
	script := "p=" + Quote(path) + `
if [ -L "$p" ]; then t=link; elif [ -d "$p" ]; then t=dir; elif [ -e "$p" ]; then t=file; else echo absent; exit 0; fi
echo "$t $(stat -c '%a %U %G' "$p")"`
	if withContent {
		script += `
[ "$t" = file ] && cat "$p"`
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
	var t string
	var mode uint32
	st := &FileState{Exists: true}
	if _, err := fmt.Sscanf(head, "%s %o %s %s", &t, &mode, &st.Owner, &st.Group); err != nil {
		return nil, fmt.Errorf("stat %s: unexpected output %q", path, head)
	}
	st.Mode = fs.FileMode(mode)
	st.IsDir, st.IsLink = t == "dir", t == "link"
	if withContent && t == "file" {
		st.Content = []byte(body)
	}
	return st, nil
}

// WriteFile writes data to path atomically: a temporary file in the same
// directory gets the content, mode and owner first, then is renamed over the
// target, so a reader never sees a half-written file, even if runbook is
// interrupted.
func WriteFile(ctx context.Context, h Host, path string, data []byte, mode fs.FileMode, owner, group string, secret bool) error {
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
	fmt.Fprintf(&b, "mv -f \"$t\" %s\ntrap - EXIT\n", Quote(path))
	r, err := h.Run(ctx, Cmd{Script: b.String(), Stdin: data, Secret: secret})
	if err != nil {
		return err
	}
	if r.RC != 0 {
		return fmt.Errorf("write %s: %s", path, strings.TrimSpace(r.Stderr))
	}
	return nil
}

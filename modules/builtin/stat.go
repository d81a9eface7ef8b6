package builtin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// Stat reports what a path is (Ansible's stat); it changes nothing.
type Stat struct {
	Path              string `yaml:"path" aliases:"dest,name" doc:"the path on the host"`
	Follow            bool   `yaml:"follow" doc:"follow a symbolic link"`
	GetChecksum       *bool  `yaml:"get_checksum" doc:"checksum a regular file" default:"true"`
	ChecksumAlgorithm string `yaml:"checksum_algorithm" aliases:"checksum,checksum_algo" doc:"sha1, sha224, sha256, sha384, sha512 or md5" default:"sha1"`
	GetMime           bool   `yaml:"get_mime" doc:"accepted for Ansible playbooks; the mime type is not read"`
	GetAttributes     bool   `yaml:"get_attributes" doc:"accepted for Ansible playbooks; attributes are not read"`
}

func init() {
	modules.Register(modules.Info{ID: "stat", Summary: "What a path is: exists, type, mode, owner, size, times, checksum (register it; changes nothing).",
		Example: "stat:\n  path: /var/lib/postgresql/15/main/PG_VERSION\nregister: pgv", New: func() modules.Module { return &Stat{} }})
}

// Validate checks the arguments.
func (s *Stat) Validate() error {
	if s.Path == "" {
		return errors.New("stat: path is required")
	}
	switch s.ChecksumAlgorithm {
	case "sha1", "sha224", "sha256", "sha384", "sha512", "md5":
	default:
		return fmt.Errorf("stat: checksum_algorithm must be sha1, sha224, sha256, sha384, sha512 or md5, got %q", s.ChecksumAlgorithm)
	}
	return nil
}

// Run reads the path's attributes in one command.
func (s *Stat) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	l := ""
	if s.Follow {
		l = "-L "
	}
	sum := ""
	if s.GetChecksum == nil || *s.GetChecksum {
		// regular files only (a FIFO would wait for a writer forever); the if keeps the script's status 0
		sum = fmt.Sprintf(`if [ -f "$p" ] && [ -r "$p" ]; then %ssum < "$p" | cut -d' ' -f1; fi`, s.ChecksumAlgorithm)
	}
	script := "p=" + modules.Quote(s.Path) + "\n" +
		`[ -e "$p" ] || [ -L "$p" ] || { echo absent; exit 0; }` + "\n" +
		"stat " + l + `-c '%F|%a|%u|%g|%U|%G|%s|%X|%Y|%Z|%i|%h|%d|%N' -- "$p"` + "\n" +
		`[ -r "$p" ] && echo r || echo -; [ -w "$p" ] && echo w || echo -; [ -x "$p" ] && echo x || echo -` + "\n" + sum
	r, err := modules.RunOK(ctx, env.Host, script, "stat")
	if err != nil {
		return nil, err
	}
	out := strings.Split(strings.TrimRight(r.Stdout, "\n"), "\n")
	if len(out) == 0 || out[0] == "absent" {
		return &modules.Result{Data: map[string]any{"stat": map[string]any{"exists": false}}}, nil
	}
	f := strings.SplitN(out[0], "|", 14)
	if len(f) < 14 || len(out) < 4 {
		return nil, fmt.Errorf("stat %s: unexpected output %q", s.Path, r.Stdout)
	}
	num := func(x string) int64 { n, _ := strconv.ParseInt(x, 10, 64); return n }
	mode, _ := strconv.ParseUint(f[1], 8, 32)
	st := map[string]any{
		"exists": true, "path": s.Path, "mode": fmt.Sprintf("%04o", mode),
		"isdir": f[0] == "directory", "isreg": strings.HasPrefix(f[0], "regular"), "islnk": f[0] == "symbolic link",
		"isblk": f[0] == "block special file", "ischr": f[0] == "character special file", "isfifo": f[0] == "fifo", "issock": f[0] == "socket",
		"uid": num(f[2]), "gid": num(f[3]), "pw_name": f[4], "gr_name": f[5], "size": num(f[6]),
		"atime": num(f[7]), "mtime": num(f[8]), "ctime": num(f[9]), "inode": num(f[10]), "nlink": num(f[11]), "dev": num(f[12]),
		"readable": out[1] == "r", "writeable": out[2] == "w", "executable": out[3] == "x",
		"roth": mode&0o4 != 0, "woth": mode&0o2 != 0, "xoth": mode&0o1 != 0,
		"rgrp": mode&0o40 != 0, "wgrp": mode&0o20 != 0, "xgrp": mode&0o10 != 0,
		"rusr": mode&0o400 != 0, "wusr": mode&0o200 != 0, "xusr": mode&0o100 != 0,
		"isuid": mode&0o4000 != 0, "isgid": mode&0o2000 != 0,
	}
	if f[0] == "symbolic link" {
		if _, target, ok := strings.Cut(f[13], " -> "); ok {
			st["lnk_source"] = strings.Trim(target, "'‘’")
			st["lnk_target"] = st["lnk_source"]
		}
	}
	if len(out) > 4 && out[4] != "" {
		st["checksum"] = out[4]
	}
	return &modules.Result{Data: map[string]any{"stat": st}}, nil
}

var _ modules.Validator = (*Stat)(nil)

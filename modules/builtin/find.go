package builtin

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "find", Summary: "List files on the host by name pattern, age, size, type or content (files: path, size, mtime, mode...).",
		Example: "find:\n  paths: /var/log\n  patterns: '*.gz'\n  age: 7d\nregister: old", New: func() modules.Module { return &Find{} }})
}

// Find lists files on the host by name, age, size and type (Ansible's
// find).
type Find struct {
	Paths     modules.StringList `yaml:"paths" aliases:"name,path" doc:"folders to search"`
	Patterns  modules.StringList `yaml:"patterns" aliases:"pattern" doc:"shell globs (or regular expressions with use_regex) the file name must match"`
	Excludes  modules.StringList `yaml:"excludes" aliases:"exclude" doc:"globs of names to leave out"`
	UseRegex  bool               `yaml:"use_regex" doc:"patterns are regular expressions"`
	Recurse   bool               `yaml:"recurse" doc:"look in subfolders too"`
	FileType  string             `yaml:"file_type" doc:"file, directory, link or any" default:"file"`
	Age       string             `yaml:"age" doc:"older than (5d, 2h, 30m...; -5d: newer than)"`
	Size      string             `yaml:"size" doc:"bigger than (10m, 1g, 500k...; -10m: smaller than)"`
	Hidden    bool               `yaml:"hidden" doc:"include names starting with a dot"`
	Depth     int                `yaml:"depth" doc:"how deep to look with recurse (0: all the way)"`
	Contains  string             `yaml:"contains" doc:"a regular expression some line of the file must match"`
	FollowLnk bool               `yaml:"follow" doc:"follow links"`
}

var ageRE = regexp.MustCompile(`^(-?)(\d+)([smhdw]?)$`)
var sizeRE = regexp.MustCompile(`^(-?)(\d+)([bkmgt]?)$`)

// Validate checks the arguments.
func (f *Find) Validate() error {
	if len(f.Paths) == 0 {
		return errors.New("find: paths is required")
	}
	if f.Age != "" && !ageRE.MatchString(strings.ToLower(f.Age)) {
		return fmt.Errorf("find: age %q: expected a number with s, m, h, d or w", f.Age)
	}
	if f.Size != "" && !sizeRE.MatchString(strings.ToLower(f.Size)) {
		return fmt.Errorf("find: size %q: expected a number with b, k, m, g or t", f.Size)
	}
	switch f.FileType {
	case "file", "directory", "link", "any":
	default:
		return fmt.Errorf("find: file_type must be file, directory, link or any, got %q", f.FileType)
	}
	if f.UseRegex {
		for _, p := range f.Patterns {
			if _, err := regexp.Compile(p); err != nil {
				return fmt.Errorf("find: %v", err)
			}
		}
	}
	return nil
}

// Run lists candidates with find(1) and filters names here.
func (f *Find) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	var paths []string
	for _, p := range f.Paths {
		for _, x := range strings.Split(p, ",") {
			paths = append(paths, strings.TrimSpace(x))
		}
	}
	cmd := "find "
	if f.FollowLnk {
		cmd += "-L "
	}
	cmd += modules.Join(paths...) + " -mindepth 1"
	if !f.Recurse {
		cmd += " -maxdepth 1"
	} else if f.Depth > 0 {
		cmd += " -maxdepth " + strconv.Itoa(f.Depth)
	}
	switch f.FileType {
	case "file":
		cmd += " -type f"
	case "directory":
		cmd += " -type d"
	case "link":
		cmd += " -type l"
	}
	if m := ageRE.FindStringSubmatch(strings.ToLower(f.Age)); m != nil && f.Age != "" {
		n, _ := strconv.Atoi(m[2])
		mult := map[string]int{"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m[3]]
		mins := (n*mult + 59) / 60
		op := "+"
		if m[1] == "-" {
			op = "-"
		}
		cmd += fmt.Sprintf(" -mmin %s%d", op, mins)
	}
	if m := sizeRE.FindStringSubmatch(strings.ToLower(f.Size)); m != nil && f.Size != "" {
		n, _ := strconv.Atoi(m[2])
		unit := map[string]string{"": "c", "b": "c", "k": "k", "m": "M", "g": "G", "t": "T"}[m[3]]
		op := "+"
		if m[1] == "-" {
			op = "-"
		}
		cmd += fmt.Sprintf(" -size %s%d%s", op, n, unit)
	}
	if f.Contains != "" {
		cmd += " -exec grep -Eq " + modules.Quote(f.Contains) + " {} \\;"
	}
	cmd += ` -printf '%p\t%s\t%T@\t%m\t%u\t%g\t%y\n' 2>/dev/null; true`
	r, err := env.Host.Run(ctx, modules.Cmd{Script: cmd})
	if err != nil {
		return nil, err
	}
	var files []any
	for _, l := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		p := strings.Split(l, "\t")
		if len(p) < 7 {
			continue
		}
		name := filepath.Base(p[0])
		if !f.Hidden && strings.HasPrefix(name, ".") || !f.matches(name) {
			continue
		}
		size, _ := strconv.ParseInt(p[1], 10, 64)
		mtime, _ := strconv.ParseFloat(p[2], 64)
		files = append(files, map[string]any{"path": p[0], "size": size, "mtime": mtime, "mode": "0" + p[3],
			"pw_name": p[4], "gr_name": p[5], "isdir": p[6] == "d", "isreg": p[6] == "f", "islnk": p[6] == "l"})
	}
	if files == nil {
		files = []any{}
	}
	return &modules.Result{Data: map[string]any{"files": files, "matched": len(files), "examined": strings.Count(r.Stdout, "\n")}}, nil
}

func (f *Find) matches(name string) bool {
	match := func(pats []string) bool {
		for _, pat := range pats {
			for _, p := range strings.Split(pat, ",") {
				p = strings.TrimSpace(p)
				if f.UseRegex {
					if regexp.MustCompile(p).MatchString(name) {
						return true
					}
				} else if ok, _ := filepath.Match(p, name); ok {
					return true
				}
			}
		}
		return false
	}
	if len(f.Excludes) > 0 && match(f.Excludes) {
		return false
	}
	return len(f.Patterns) == 0 || match(f.Patterns)
}

package builtin

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/runbook-lab/runbook/internal/inputfile"
	"github.com/runbook-lab/runbook/modules"
)

// Raw runs a command line as it is (Ansible's raw: no module machinery;
// here the same as shell, for playbooks that bootstrap with it).
type Raw struct {
	Cmd        string `yaml:"cmd" doc:"the command line"`
	Executable string `yaml:"executable" doc:"the shell to run it with"`
}

// Script copies a local script to the host and runs it there.
type Script struct {
	Cmd        string `yaml:"cmd" doc:"the script (a file on the machine running runbook, found in the role's files/ first) and its arguments"`
	Chdir      string `yaml:"chdir" doc:"directory to run in"`
	Creates    string `yaml:"creates" doc:"skip when this path exists"`
	Removes    string `yaml:"removes" doc:"skip unless this path exists"`
	Executable string `yaml:"executable" doc:"the interpreter (default: the script's #! line)"`
}

// Slurp reads a file from the host, base64-encoded (Ansible's slurp).
type Slurp struct {
	Src string `yaml:"src" aliases:"path" doc:"the file on the host"`
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

// Tempfile makes a temporary file or folder on the host.
type Tempfile struct {
	State  string `yaml:"state" doc:"file or directory" default:"file"`
	Prefix string `yaml:"prefix" doc:"start of the name" default:"ansible."`
	Suffix string `yaml:"suffix" doc:"end of the name"`
	Path   string `yaml:"path" doc:"the folder (default: the host's temporary folder)"`
}

// Debconf sets a debconf answer before a package asks (Ansible's debconf).
type Debconf struct {
	Name     string `yaml:"name" aliases:"package" doc:"the package"`
	Question string `yaml:"question" aliases:"selection,setting" doc:"the question"`
	VType    string `yaml:"vtype" doc:"its type: string, boolean, select, multiselect, note, password, seen, text..."`
	Value    string `yaml:"value" aliases:"answer" doc:"the answer"`
	Unseen   bool   `yaml:"unseen" doc:"do not mark the question seen"`
}

// SetStats is accepted for Ansible playbooks: runbook has no stats
// callback; the data is shown.
type SetStats struct {
	Data      map[string]any `yaml:"data" doc:"the stats (shown, not aggregated)"`
	PerHost   bool           `yaml:"per_host" doc:"accepted"`
	Aggregate *bool          `yaml:"aggregate" doc:"accepted" default:"true"`
}

// PackageFacts reads installed Debian or RPM packages into
// ansible_facts.packages.
type PackageFacts struct {
	Manager modules.StringList `yaml:"manager" doc:"auto, apt or rpm" default:"auto"`
}

func init() {
	modules.Register(modules.Info{ID: "raw", Summary: "Run a command line on the host as it is (for bootstrapping; the same as shell here).",
		Example: "raw: apt-get install -y python3", New: func() modules.Module { return &Raw{} }})
	modules.Register(modules.Info{ID: "script", Summary: "Copy a local script to the host (a private temporary folder) and run it with its arguments.",
		Example: "script: files/setup.sh --fast", New: func() modules.Module { return &Script{} }})
	modules.Register(modules.Info{ID: "slurp", Summary: "Read a file from the host, base64-encoded as content (register it; b64decode reads it).",
		Example: "slurp:\n  src: /etc/hostname\nregister: hn", New: func() modules.Module { return &Slurp{} }})
	modules.Register(modules.Info{ID: "find", Summary: "List files on the host by name pattern, age, size, type or content (files: path, size, mtime, mode...).",
		Example: "find:\n  paths: /var/log\n  patterns: '*.gz'\n  age: 7d\nregister: old", New: func() modules.Module { return &Find{} }})
	modules.Register(modules.Info{ID: "tempfile", Summary: "Make a temporary file or folder on the host (path for register).",
		Example: "tempfile:\n  state: directory\nregister: tmp", New: func() modules.Module { return &Tempfile{} }})
	modules.Register(modules.Info{ID: "debconf", Summary: "Set a debconf answer for a package (before it is installed).",
		Example: "debconf:\n  name: tzdata\n  question: tzdata/Areas\n  value: Etc\n  vtype: select", New: func() modules.Module { return &Debconf{} }})
	modules.Register(modules.Info{ID: "set_stats", Summary: "Accepted for Ansible playbooks: shows the data (runbook has no stats callback).",
		Example: "set_stats:\n  data:\n    deployed: 1", New: func() modules.Module { return &SetStats{} }})
	modules.Register(modules.Info{ID: "package_facts", Summary: "Read the installed packages (dpkg or rpm) into ansible_facts.packages.",
		Example: "package_facts: {}", New: func() modules.Module { return &PackageFacts{} }})
}

// FreeFormArg: `raw: command`.
func (*Raw) FreeFormArg() string { return "cmd" }

// Validate needs a command.
func (r *Raw) Validate() error {
	if r.Cmd == "" {
		return errors.New("raw: the command is required")
	}
	return nil
}

// Run runs the line.
func (r *Raw) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	return (&Shell{Cmd: r.Cmd, Executable: r.Executable}).Run(ctx, env)
}

// FreeFormArg: `script: file.sh args`.
func (*Script) FreeFormArg() string { return "cmd" }

// Validate needs a script.
func (s *Script) Validate() error {
	if strings.TrimSpace(s.Cmd) == "" {
		return errors.New("script: the script is required")
	}
	_, err := SplitWords(s.Cmd)
	return err
}

// Run uploads the script into a private folder, runs it, removes it.
func (s *Script) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	words, err := SplitWords(s.Cmd)
	if err != nil {
		return nil, err
	}
	body, err := inputfile.Read(modules.FindLocal(env, words[0], "files"))
	if err != nil {
		return modules.Failf("script: %v", err), nil
	}
	run := `"$d/script"`
	if s.Executable != "" {
		run = modules.Quote(s.Executable) + " " + run
	}
	script := "d=$(mktemp -d) || exit 1\ntrap 'rm -rf \"$d\"' EXIT\ncat > \"$d/script\" && chmod 0700 \"$d/script\" || exit 1\n" +
		run + " " + modules.Join(words[1:]...) + " </dev/null"
	if s.Creates != "" || s.Removes != "" || env.Check {
		// creates/removes and check mode as command's
		res, err := runScript(ctx, &modules.Env{Host: discardStdin{env.Host}, Check: env.Check}, "true", "", s.Creates, s.Removes, "")
		if err != nil || res.Skipped || res.Msg != "" && strings.HasPrefix(res.Msg, "skipped") {
			return res, err
		}
	}
	if s.Chdir != "" {
		script = "cd " + modules.Quote(s.Chdir) + " || exit 1\n" + script
	}
	r, err := env.Host.Run(ctx, modules.Cmd{Script: script, Stdin: body})
	if err != nil {
		return nil, err
	}
	res := &modules.Result{Changed: true, Data: modules.CmdData(r)}
	if r.RC != 0 {
		res.Failed, res.Msg = true, "non-zero return code "+strconv.Itoa(r.RC)
	}
	return res, nil
}

// discardStdin is a host wrapper for the creates/removes probe.
type discardStdin struct{ modules.Host }

// Validate needs src.
func (s *Slurp) Validate() error {
	if s.Src == "" {
		return errors.New("slurp: src is required")
	}
	return nil
}

// Run reads the file.
func (s *Slurp) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	q := modules.Quote(s.Src)
	r, err := env.Host.Run(ctx, modules.Cmd{Script: modules.RefuseSpecial(q) +
		// (RefuseSpecial set rb_path: the path never goes into a command substitution's text)
		fmt.Sprintf(`[ -d "$rb_path" ] || [ "$(stat -L -c %%s -- "$rb_path" 2>/dev/null || echo 0)" -le %d ] || { echo 'over %d MiB: slurp reads it into a variable (fetch copies big files)' >&2; exit 4; }`+"\n", modules.MaxEditSize, modules.MaxEditSize>>20) +
		"base64 -w0 < " + q})
	if err != nil {
		return nil, err
	}
	if r.RC != 0 {
		return modules.Failf("slurp %s: %s", s.Src, strings.TrimSpace(r.Stderr)), nil
	}
	content := strings.TrimSpace(r.Stdout)
	if _, err := base64.StdEncoding.DecodeString(content); err != nil {
		return nil, fmt.Errorf("slurp %s: bad base64 from the host", s.Src)
	}
	return &modules.Result{Data: map[string]any{"content": content, "encoding": "base64", "source": s.Src}}, nil
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

// Validate checks the state.
func (t *Tempfile) Validate() error {
	if t.State != "file" && t.State != "directory" {
		return fmt.Errorf("tempfile: state must be file or directory, got %q", t.State)
	}
	if strings.ContainsAny(t.Prefix+t.Suffix, "/") {
		return errors.New("tempfile: prefix and suffix are parts of a name, without /")
	}
	return nil
}

// Run makes it.
func (t *Tempfile) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	if env.Check {
		return &modules.Result{Changed: true, Data: map[string]any{"path": "(made on a real run)"}}, nil
	}
	dir := modules.Or(t.Path, "${TMPDIR:-/tmp}")
	quotedDir := `"` + dir + `"`
	if t.Path != "" {
		quotedDir = modules.Quote(t.Path)
	}
	cmd := "mktemp "
	if t.State == "directory" {
		cmd += "-d "
	}
	cmd += "-p " + quotedDir + " " + modules.Quote(t.Prefix+"XXXXXXXX"+t.Suffix)
	r, err := modules.RunOK(ctx, env.Host, cmd, "mktemp")
	if err != nil {
		return nil, err
	}
	return &modules.Result{Changed: true, Data: map[string]any{"path": strings.TrimSpace(r.Stdout), "state": t.State}}, nil
}

// Validate checks the arguments.
func (d *Debconf) Validate() error {
	if d.Name == "" {
		return errors.New("debconf: name is required")
	}
	if d.Question != "" && (d.VType == "" || strings.ContainsAny(d.Question+d.VType, " \t\n")) {
		return errors.New("debconf: question and vtype are one word each, both needed to set an answer")
	}
	return nil
}

// Run sets the answer when it differs.
func (d *Debconf) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	r, err := env.Host.Run(ctx, modules.Cmd{Script: "debconf-show " + modules.Quote(d.Name) + " 2>/dev/null"})
	if err != nil {
		return nil, err
	}
	current := map[string]string{}
	for _, l := range strings.Split(r.Stdout, "\n") {
		l = strings.TrimLeft(l, "* ")
		if k, v, ok := strings.Cut(l, ":"); ok {
			current[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	res := &modules.Result{Data: map[string]any{"current": current}}
	if d.Question == "" || current[d.Question] == d.Value && d.VType != "password" {
		return res, nil
	}
	res.Changed = true
	if env.Check {
		return res, nil
	}
	line := d.Name + " " + d.Question + " " + d.VType + " " + d.Value + "\n"
	cmd := "debconf-set-selections"
	if !d.Unseen {
		cmd += " && echo " + modules.Quote(d.Name+" "+d.Question+" seen true") + " | debconf-set-selections"
	}
	r, err = env.Host.Run(ctx, modules.Cmd{Script: cmd, Stdin: []byte(line), Secret: d.VType == "password"})
	if err != nil {
		return nil, err
	}
	if r.RC != 0 {
		return modules.Failf("debconf: %s", strings.TrimSpace(r.Stderr)), nil
	}
	return res, nil
}

// ControllerOnly: nothing on the host.
func (*SetStats) ControllerOnly() {}

// Run shows the data.
func (s *SetStats) Run(context.Context, *modules.Env) (*modules.Result, error) {
	return &modules.Result{Msg: fmt.Sprint(s.Data), Data: map[string]any{"ansible_stats": map[string]any{"data": s.Data}}}, nil
}

// Run reads the package database.
func (p *PackageFacts) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	r, err := env.Host.Run(ctx, modules.Cmd{Script: `if command -v dpkg-query >/dev/null; then dpkg-query -W -f='${Package}\t${Version}\t${Architecture}\t${db:Status-Abbrev}\n'; elif command -v rpm >/dev/null; then rpm -qa --qf '%{NAME}\t%{VERSION}-%{RELEASE}\t%{ARCH}\tii\n'; fi`})
	if err != nil {
		return nil, err
	}
	pkgs := map[string]any{}
	for _, l := range strings.Split(r.Stdout, "\n") {
		f := strings.Split(l, "\t")
		if len(f) < 4 || !strings.HasPrefix(f[3], "ii") {
			continue
		}
		entry := map[string]any{"name": f[0], "version": f[1], "arch": f[2], "source": "apt"}
		list, _ := pkgs[f[0]].([]any)
		pkgs[f[0]] = append(list, entry)
	}
	return &modules.Result{Facts: map[string]any{"ansible_facts": map[string]any{"packages": pkgs}, "packages": pkgs}}, nil
}

var (
	_ modules.FreeForm       = (*Raw)(nil)
	_ modules.FreeForm       = (*Script)(nil)
	_ modules.ControllerOnly = (*SetStats)(nil)
)

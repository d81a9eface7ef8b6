package builtin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// File manages a path's existence, type, mode and owner.
type File struct {
	Path    string       `yaml:"path" aliases:"dest,name" doc:"the path on the host"`
	State   string       `yaml:"state" doc:"file (must exist), directory, absent, link, hard, touch" default:"file"`
	Src     string       `yaml:"src" doc:"link target (state: link or hard)"`
	Recurse bool         `yaml:"recurse" doc:"state directory: set mode and owner on everything inside too"`
	Force   bool         `yaml:"force" doc:"state link: replace a file that is where the link goes"`
	Follow  *bool        `yaml:"follow" doc:"accepted for Ansible playbooks (runbook sets attributes through links)" default:"true"`
	Mode    modules.Mode `yaml:"mode" doc:"octal mode"`
	Owner   string       `yaml:"owner" doc:"owner"`
	Group   string       `yaml:"group" doc:"group"`
	// timestamps, as Ansible's: touch sets both to now unless told to
	// preserve them, which is how playbooks make a touch idempotent
	ModificationTime       string `yaml:"modification_time" doc:"preserve, now, or a time in modification_time_format (the host's local time); default now for state touch, else preserve"`
	ModificationTimeFormat string `yaml:"modification_time_format" doc:"strftime format of modification_time" default:"%Y%m%d%H%M.%S"`
	AccessTime             string `yaml:"access_time" doc:"as modification_time, for the access time"`
	AccessTimeFormat       string `yaml:"access_time_format" doc:"strftime format of access_time" default:"%Y%m%d%H%M.%S"`
	modules.SELinux        `yaml:",inline"`

	times []fileTime // parsed by Validate
}

func init() {
	modules.Register(modules.Info{ID: "file", Summary: "Create directories, links and empty files, remove paths, set mode and owner.",
		Example: "file:\n  path: /var/lib/postgresql/archive\n  state: directory\n  owner: postgres\n  mode: 0700", New: func() modules.Module {
			return &File{State: "file", ModificationTimeFormat: defaultTimeFormat, AccessTimeFormat: defaultTimeFormat}
		}})
}

// Validate checks the arguments.
func (f *File) Validate() error {
	if f.Path == "" {
		return errors.New("file: path is required")
	}
	switch f.State {
	case "file", "directory", "absent", "link", "hard", "touch":
	default:
		return fmt.Errorf("file: state must be file, directory, absent, link, hard or touch, got %q", f.State)
	}
	if (f.State == "link" || f.State == "hard") && f.Src == "" {
		return fmt.Errorf("file: state %s needs src", f.State)
	}
	if f.Recurse && f.State != "directory" {
		return errors.New("file: recurse is for state directory")
	}
	if f.Path == "/" && f.State == "absent" {
		return errors.New("file: refusing to remove /")
	}
	f.times = nil
	for _, t := range []struct{ flag, name, value, format string }{
		{"-m", "modification_time", f.ModificationTime, f.ModificationTimeFormat},
		{"-a", "access_time", f.AccessTime, f.AccessTimeFormat},
	} {
		ft, err := parseFileTime(t.flag, t.name, t.value, t.format, f.State)
		if err != nil {
			return fmt.Errorf("file: %w", err)
		}
		if ft.value != "preserve" {
			f.times = append(f.times, ft)
		}
	}
	return nil
}

// Run brings the path to the wanted state.
func (f *File) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	f.SELinux.Warn(env)
	st, err := modules.Stat(ctx, env.Host, f.Path, false)
	if err != nil {
		return nil, err
	}
	var steps []string
	var before, after string
	p := modules.Quote(f.Path)
	switch f.State {
	case "absent":
		if st.Exists {
			steps = append(steps, "rm -rf -- "+p)
			before, after = "present", "absent"
		}
	case "directory":
		if st.Exists && !st.IsDir {
			return nil, fmt.Errorf("%s exists and is not a directory", f.Path)
		}
		if !st.Exists {
			steps = append(steps, "mkdir -p -- "+p)
			before, after = "absent", "directory"
		}
	case "touch":
		if !st.Exists {
			steps = append(steps, ": >> "+p)
			before, after = "absent", "file"
		}
	case "file":
		if !st.Exists {
			return modules.Failf("%s does not exist (use state: touch to create an empty file)", f.Path), nil
		}
	case "link":
		r, err := env.Host.Run(ctx, modules.Cmd{Script: "readlink " + p})
		if err != nil {
			return nil, err
		}
		cur := strings.TrimSpace(r.Stdout)
		if st.Exists && !st.IsLink && !f.Force {
			return modules.Failf("%s exists and is not a link (force: true replaces it)", f.Path), nil
		}
		if cur != f.Src {
			steps = append(steps, "ln -sfn -- "+modules.Quote(f.Src)+" "+p)
			before, after = "link to "+modules.Or(cur, "(none)"), "link to "+f.Src
		}
	case "hard":
		r, err := env.Host.Run(ctx, modules.Cmd{Script: "[ " + p + " -ef " + modules.Quote(f.Src) + " ]"})
		if err != nil {
			return nil, err
		}
		if r.RC != 0 {
			if st.Exists && !f.Force {
				return modules.Failf("%s exists and is another file (force: true replaces it)", f.Path), nil
			}
			steps = append(steps, "ln -f -- "+modules.Quote(f.Src)+" "+p)
			before, after = "not linked", "hard link to "+f.Src
		}
	}
	if f.Recurse && (f.Mode.Set || f.Owner != "" || f.Group != "") {
		// anything inside that differs (find prints the first one)
		var tests []string
		if f.Owner != "" {
			tests = append(tests, "! -user "+modules.Quote(f.Owner))
		}
		if f.Group != "" {
			tests = append(tests, "! -group "+modules.Quote(f.Group))
		}
		if f.Mode.Set && f.Mode.Symbolic == "" {
			tests = append(tests, fmt.Sprintf("! -perm %04o", f.Mode.Perm))
		}
		differ := false
		if len(tests) > 0 {
			r, err := env.Host.Run(ctx, modules.Cmd{Script: "find " + p + " -mindepth 1 \\( " + strings.Join(tests, " -o ") + " \\) -print -quit 2>/dev/null"})
			if err != nil {
				return nil, err
			}
			differ = strings.TrimSpace(r.Stdout) != ""
		}
		if f.Mode.Symbolic != "" && !differ {
			if differ, err = f.symbolicDiffers(ctx, env); err != nil {
				return nil, err
			}
		}
		if differ {
			if f.Owner != "" || f.Group != "" {
				steps = append(steps, "chown -R "+modules.Quote(f.Owner+":"+f.Group)+" -- "+p)
			}
			if f.Mode.Symbolic != "" {
				steps = append(steps, "chmod -R "+modules.Quote(f.Mode.Symbolic)+" -- "+p)
			} else if f.Mode.Set {
				steps = append(steps, fmt.Sprintf("chmod -R %o -- %s", f.Mode.Perm, p))
			}
			before, after = before+" (contents differ)", after+" (contents set)"
		}
	}
	if f.State != "absent" && f.State != "link" && f.State != "hard" {
		wantNew := !st.Exists
		isDir := st.IsDir || f.State == "directory"
		cur := st.Mode
		if wantNew { // what mkdir and touch give under the usual umask
			cur = map[bool]fs.FileMode{true: 0o755, false: 0o644}[isDir]
		}
		if want := f.Mode.For(cur, isDir); f.Mode.Set && (wantNew || st.Mode != want) {
			steps = append(steps, fmt.Sprintf("chmod %o -- %s", want, p))
			before, after = before+fmt.Sprintf(" mode %04o", st.Mode), after+fmt.Sprintf(" mode %04o", want)
		}
		if (f.Owner != "" && (wantNew || st.Owner != f.Owner)) || (f.Group != "" && (wantNew || st.Group != f.Group)) {
			steps = append(steps, "chown "+modules.Quote(f.Owner+":"+f.Group)+" -- "+p)
			before, after = before+" owner "+st.Owner+":"+st.Group, after+" owner "+modules.Or(f.Owner, st.Owner)+":"+modules.Or(f.Group, st.Group)
		}
	}
	if f.State == "file" || f.State == "directory" || f.State == "touch" {
		ts, tb, ta, err := f.timeSteps(ctx, env, st.Exists)
		if err != nil {
			return nil, err
		}
		steps, before, after = append(steps, ts...), before+tb, after+ta
	}
	res := &modules.Result{Data: map[string]any{"path": f.Path, "state": f.State}}
	if len(steps) == 0 {
		return res, nil
	}
	res.Changed = true
	if env.Diff {
		res.Diffs = []modules.Diff{{Path: f.Path, Before: strings.TrimSpace(before) + "\n", After: strings.TrimSpace(after) + "\n"}}
	}
	res.Then(func(ctx context.Context) error {
		_, err = modules.RunOK(ctx, env.Host, "set -e\n"+strings.Join(steps, "\n"), "file")
		return wrapFile(err, f.Path)
	})
	return res, nil
}

// symbolicDiffers says whether a recursive symbolic mode would change
// anything inside the directory (each entry's mode read, the mode applied).
func (f *File) symbolicDiffers(ctx context.Context, env *modules.Env) (bool, error) {
	r, err := modules.RunOK(ctx, env.Host, "find "+modules.Quote(f.Path)+" -mindepth 1 ! -type l -printf '%m %y\\n'", "file")
	if err != nil {
		return false, wrapFile(err, f.Path)
	}
	for _, l := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		var m uint32
		var kind string
		if _, err := fmt.Sscanf(l, "%o %s", &m, &kind); err == nil && f.Mode.For(fs.FileMode(m), kind == "d") != fs.FileMode(m) {
			return true, nil
		}
	}
	return false, nil
}

func wrapFile(err error, path string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

var _ modules.Validator = (*File)(nil)

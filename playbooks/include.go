package playbooks

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Includes: include_tasks and import_tasks (static, dynamic, looped) and
// the role_path and playbook_dir their file names may start with.

// includeFile reads include_tasks' file: the free form (include_tasks:
// x.yml) or the mapping Ansible also takes (file: x.yml, apply: keywords
// for every included task, which a block's keywords are here).
func (l *Loader) includeFile(d *decoder, t *Task, key string, v *yaml.Node) (string, error) {
	if v.Kind != yaml.MappingNode {
		return d.str(v, key)
	}
	var name string
	err := d.mapping(v, key, func(k2, v2 *yaml.Node) error {
		var err error
		switch k2.Value {
		case "file", "_raw_params":
			name, err = d.str(v2, key+": file")
		case "apply":
			err = d.mapping(v2, key+": apply", func(k3, v3 *yaml.Node) error {
				var err error
				switch k3.Value {
				case "tags":
					var tags []string
					tags, err = d.strList(v3, "tags")
					t.Tags = append(t.Tags, tags...)
				case "become":
					t.Become, t.BecomeExpr, err = d.becomeFlag(v3)
				case "become_user":
					t.BecomeUser, err = d.str(v3, "become_user")
				case "vars":
					var vars map[string]any
					if vars, err = d.vars(v3, "vars"); err == nil {
						t.Vars = mergeVars(t.Vars, vars)
					}
				case "environment":
					t.Environment, err = d.env(v3)
				default:
					return d.errf(k3, "%s: apply: %q is not a keyword runbook applies (tags, become, become_user, vars, environment)", key, k3.Value)
				}
				return err
			})
		default:
			return unknownKey(d, k2, key, []string{"file", "apply"})
		}
		return err
	})
	if err == nil && name == "" {
		err = d.errf(v, "%s: file is missing", key)
	}
	return name, err
}

// staticInclude loads an included task file now, so that it is validated
// before any host is contacted; it runs as a block so the include's own
// keywords (when, vars, delegate_to, tags) apply to it.
func (l *Loader) staticInclude(d *decoder, f *file, v *yaml.Node, key, name string, handler bool) ([]*Task, error) {
	inc, rerr := l.read(name, f)
	if rerr != nil && !filepath.IsAbs(name) {
		// in a role, Ansible also looks in the role's tasks/ and in the
		// role itself (a handler's `include_tasks: tasks/restart.yml`, a
		// file in tasks/section_1/ importing tasks/warning_facts.yml)
		up := ""
		for dir := filepath.ToSlash(f.dir); dir != "." && dir != "/" && dir != ""; dir = path.Dir(dir) {
			if b := path.Base(dir); b == "tasks" || b == "handlers" {
				for _, alt := range []string{path.Join(up, "..", "tasks", name), path.Join(up, "..", name)} {
					if i, err := l.read(alt, f); err == nil {
						inc, rerr = i, nil
						break
					}
				}
				break
			}
			up = path.Join(up, "..")
		}
	}
	if rerr != nil {
		return nil, d.errf(v, "%s: cannot read %q: %v", key, name, rerr)
	}
	leave, err := l.enter(d, v, key, inc.src.Name)
	if err != nil {
		return nil, err
	}
	defer leave()
	root, perr := parseOrEmpty(inc.src, yaml.SequenceNode)
	if perr != nil {
		return nil, perr
	}
	return l.tasks(&decoder{src: inc.src}, inc, root, handler)
}

// rolePathVar is the role_path variable in a template, as written or
// converted: {{ role_path }}, {{ .role_path }}.
var rolePathVar = regexp.MustCompile(`\{\{-?\s*\.?role_path\s*-?\}\}`)

// withRolePath puts the role's folder for role_path in an include's name
// ("{{ role_path }}/tasks/x.yml"), as Ansible knows it when it loads: the
// folder above the tasks/ or handlers/ folder the including file is in.
func withRolePath(name string, f *file) string {
	if !rolePathVar.MatchString(name) || f.embedded {
		return name
	}
	for dir := f.dir; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if b := filepath.Base(dir); b == "tasks" || b == "handlers" {
			return rolePathVar.ReplaceAllLiteralString(name, filepath.Dir(dir))
		}
	}
	return name
}

// playbookDirVar is the playbook_dir variable in a template, as written or
// converted.
var playbookDirVar = regexp.MustCompile(`\{\{-?\s*\.?playbook_dir\s*-?\}\}`)

// withPlaybookDir puts the playbook's folder for playbook_dir in an
// include's name ("{{ playbook_dir }}/../tests/tasks/post.yml", a molecule
// idiom), as Ansible knows it when it loads.
func (l *Loader) withPlaybookDir(name string) string {
	if l.baseDir == "" || !playbookDirVar.MatchString(name) {
		return name
	}
	dir, err := filepath.Abs(l.baseDir)
	if err != nil {
		return name
	}
	return playbookDirVar.ReplaceAllLiteralString(name, dir)
}

// dynamicInclude is include_tasks with a templated file name
// ("{{ .ansible_os_family }}.yml"): every file the name can stand for
// (the template's actions as *) is loaded and checked now; each runs as a
// block on the hosts whose rendered name is that file, and a host whose
// name is none of them fails, as in Ansible.
func (l *Loader) dynamicInclude(d *decoder, f *file, v *yaml.Node, key, name string, items []string, handler bool) ([]*Task, error) {
	pattern := templateAction.ReplaceAllString(name, "*")
	var found []string
	if f.embedded {
		found, _ = fs.Glob(l.Embedded, path.Join(f.dir, pattern))
	} else {
		found, _ = filepath.Glob(filepath.Join(f.dir, pattern))
	}
	if loopItem.MatchString(name) && len(items) > 0 {
		// include_tasks: "{{ item }}" over a written list: those files, not
		// everything beside the playbook
		found = nil
		for _, it := range items {
			found = append(found, path.Join(f.dir, it))
		}
	}
	found = slices.DeleteFunc(found, func(p string) bool {
		// task files only: a README or INSTALL.rst beside them is no candidate
		ext := path.Ext(p)
		return ext != ".yml" && ext != ".yaml" && ext != ""
	})
	if len(found) == 0 {
		return nil, d.errf(v, "%s: no file matches %q (as %s beside %s)", key, name, pattern, f.src.Name)
	}
	var out, candidates []string
	for _, full := range found {
		rel := strings.TrimPrefix(strings.TrimPrefix(filepath.ToSlash(full), filepath.ToSlash(f.dir)), "/")
		out = append(out, rel)
	}
	blocks := []*Task{}
	var firstErr error
	loaded := 0
	for _, rel := range out {
		ts, err := l.tryInclude(func() ([]*Task, error) { return l.staticInclude(d, f, v, key, rel, handler) })
		if err != nil {
			// A file only some hosts would take (setup-FreeBSD.yml with a
			// module runbook lacks, beside setup-Debian.yml) fails only the
			// hosts that take it, with its own positioned error, as in
			// Ansible, which reads it only then.
			if firstErr == nil {
				firstErr = err
			}
			literal := strings.ReplaceAll(err.Error(), "{{", `{{"{{"}}`) // shown, not rendered
			if ts, err = failTask(key+" "+rel, d.pos(v), literal); err != nil {
				return nil, err
			}
		} else {
			loaded++
		}
		candidates = append(candidates, rel)
		blocks = append(blocks, &Task{Name: key + " " + rel, Block: ts, At: d.pos(v), IncludeIf: &IncludeIf{Template: name, File: rel}})
	}
	if loaded == 0 {
		return nil, firstErr // no file it can name loads: a mistake for every host
	}
	guard, err := failTask(key+" "+name, d.pos(v), fmt.Sprintf("%s: %s names none of the files found beside it: %s", key, name, strings.Join(candidates, ", ")))
	if err != nil {
		return nil, err
	}
	guard[0].IncludeIf = &IncludeIf{Template: name, Others: candidates}
	return append(guard, blocks...), nil
}

// tryInclude runs load and gives back the mistakes it finds as its error
// instead of keeping them for the load (the caller decides whether they
// are mistakes now or only where the file is taken).
func (l *Loader) tryInclude(load func() ([]*Task, error)) ([]*Task, error) {
	n := len(l.errs)
	ts, err := load()
	if len(l.errs) > n {
		found := append([]error(nil), l.errs[n:]...)
		l.errs = l.errs[:n]
		if err != nil && !slices.ContainsFunc(found, func(e error) bool { return e.Error() == err.Error() }) {
			found = append(found, err)
		}
		return nil, errors.Join(found...)
	}
	return ts, err
}

// failTask is a task list of one fail task with msg.
func failTask(name string, at Pos, msg string) ([]*Task, error) {
	t := &Task{Name: name, Module: "fail", At: at, Args: &yaml.Node{}}
	if err := t.Args.Encode(map[string]any{"msg": msg}); err != nil {
		return nil, err
	}
	return []*Task{t}, nil
}

// enter opens the tasks file name (an include, or a role's tasks file)
// inside the chain being loaded; leave closes it. A static include or
// import_role that reaches itself, directly or not, would recurse
// forever: refused with the chain, at the include (at, by key).
func (l *Loader) enter(d *decoder, at *yaml.Node, key, name string) (leave func(), err error) {
	for i, open := range l.including {
		if open == name {
			chain := append(append([]string{}, l.including[i:]...), name)
			return nil, d.errf(at, "%s: cycle %s", key, strings.Join(chain, " -> "))
		}
	}
	if len(l.including) >= maxIncludeDepth {
		return nil, d.errf(at, "%s: nested more than %d deep", key, maxIncludeDepth)
	}
	l.including = append(l.including, name)
	return func() { l.including = l.including[:len(l.including)-1] }, nil
}

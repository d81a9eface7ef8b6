package playbooks

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/runbook-lab/runbook/internal/inputfile"
	"github.com/runbook-lab/runbook/templates"

	"go.yaml.in/yaml/v3"

	"github.com/runbook-lab/runbook/internal/diag"
)

// roleRef is a role as a play or a task names it: roles: [name] or
// {role: name, vars..., params...}, import_role: {name, tasks_from...}.
type roleRef struct {
	name                                            string
	params                                          map[string]any
	tasksFrom, varsFrom, defaultsFrom, handlersFrom string
	at                                              *yaml.Node
	tags                                            []string
	when                                            []string
	become                                          *bool
	becomeExpr                                      string
	becomeUser                                      string
}

// roleRefKeys are the keywords of a roles: entry; anything else is a role
// parameter.
var roleRefKeys = map[string]bool{"role": true, "name": true, "vars": true, "tags": true, "when": true, "become": true, "become_user": true}

func (l *Loader) roleRefs(d *decoder, n *yaml.Node) ([]roleRef, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, d.errf(n, "roles: expected a list of roles, got %s", diag.KindName(n))
	}
	var out []roleRef
	for _, e := range n.Content {
		e = resolve(e)
		r, err := l.roleRef(d, e, "roles")
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (l *Loader) roleRef(d *decoder, e *yaml.Node, what string) (roleRef, error) {
	r := roleRef{at: e, params: map[string]any{}}
	if e.Kind == yaml.ScalarNode {
		r.name = e.Value
		return r, d.template(e, e.Value)
	}
	if e.Kind != yaml.MappingNode {
		return r, d.errf(e, "%s: expected a role name or a mapping with role:, got %s", what, diag.KindName(e))
	}
	err := d.mapping(e, what, func(k, v *yaml.Node) error {
		var err error
		switch k.Value {
		case "role", "name":
			r.name, err = d.str(v, k.Value)
		case "vars":
			var vs map[string]any
			vs, err = d.vars(v, "vars")
			for x, y := range vs {
				r.params[x] = y
			}
		case "tags":
			r.tags, err = d.strList(v, "tags")
		case "when":
			r.when, err = d.conditions(v, "when")
		case "become":
			r.become, r.becomeExpr, err = d.becomeFlag(v)
		case "become_user":
			r.becomeUser, err = d.str(v, "become_user")
		case "tasks_from", "vars_from", "defaults_from", "handlers_from":
			if what == "roles" {
				return d.errf(k, "%s belongs to import_role and include_role", k.Value)
			}
			var s string
			s, err = d.str(v, k.Value)
			switch k.Value {
			case "tasks_from":
				r.tasksFrom = s
			case "vars_from":
				r.varsFrom = s
			case "defaults_from":
				r.defaultsFrom = s
			case "handlers_from":
				r.handlersFrom = s
			}
		case "public", "allow_duplicates", "apply", "rolespec_validate":
			// accepted: runbook's roles are always public within the play
		default:
			if what != "roles" {
				return unknownKey(d, k, what, []string{"name", "tasks_from", "vars_from", "defaults_from", "handlers_from", "public", "apply"})
			}
			var x any
			if err := v.Decode(&x); err != nil {
				return d.errf(v, "role parameter %s: %v", k.Value, err)
			}
			r.params[k.Value] = x // a role parameter
		}
		return err
	})
	if err == nil && r.name == "" {
		err = d.errf(e, "%s: which role? (role: NAME)", what)
	}
	if err == nil && what != "roles" {
		err = l.roleName(d, e, &r, what, nil)
	}
	return r, err
}

// roleName renders a templated role name with what is known before any
// host, as Ansible does when it loads the play: the playbook's folder
// ("{{ playbook_dir }}" is a repository that is itself the role:
// ansible-lockdown's site.yml), the play's vars and the extra vars
// (`roles: ["{{ role_name | default('nginx') }}"]`, -e role_name=...).
func (l *Loader) roleName(d *decoder, e *yaml.Node, r *roleRef, what string, playVars map[string]any) error {
	if !strings.Contains(r.name, "{{") {
		return nil
	}
	dir := l.baseDir
	if abs, aerr := filepath.Abs(dir); aerr == nil {
		dir = abs
	}
	vars := map[string]any{}
	for k, v := range playVars {
		vars[k] = v
	}
	for k, v := range l.ExtraVars {
		vars[k] = v
	}
	vars["playbook_dir"] = dir
	if name, rerr := templates.Render("role", r.name, vars); rerr == nil && name != "" {
		r.name = name
	}
	if strings.Contains(r.name, "{{") {
		return d.errf(e, "%s: a templated role name is not supported here: roles are loaded (and checked) before any host is contacted (only playbook_dir, the play's vars, extra vars and env are known then)", what)
	}
	return nil
}

// rolePaths are the folders a role is looked for in, first match wins:
// roles/ beside the file naming it, that folder itself, ANSIBLE_ROLES_PATH,
// then Ansible's defaults.
func (l *Loader) rolePaths(f *file) []string {
	if f.embedded {
		return []string{path.Join(f.dir, "roles"), f.dir, path.Dir(f.dir), path.Dir(path.Dir(f.dir))}
	}
	// beside the file; for a role's own files (meta, tasks) the roles
	// folder holding it; then the playbook's roles folder
	dirs := []string{filepath.Join(f.dir, "roles"), f.dir, filepath.Dir(f.dir), filepath.Dir(filepath.Dir(f.dir))}
	if l.baseDir != "" {
		dirs = append(dirs, filepath.Join(l.baseDir, "roles"), l.baseDir)
	}
	for _, p := range filepath.SplitList(os.Getenv("ANSIBLE_ROLES_PATH")) {
		if p != "" {
			dirs = append(dirs, p)
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".ansible", "roles"))
	}
	return unique(append(dirs, "/usr/share/ansible/roles", "/etc/ansible/roles"))
}

// unique keeps the first of each path, in order (a playbook in the
// current folder names "." three times).
func unique(dirs []string) []string {
	seen := map[string]bool{}
	out := dirs[:0]
	for _, d := range dirs {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// roleFile reads ROLE/sub/name(.yml|.yaml|) if it exists.
func (l *Loader) roleFile(dir *file, sub, name string) (*file, error) {
	for _, ext := range []string{".yml", ".yaml", ""} {
		f, err := l.read(path.Join(sub, name+ext), dir)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return nil, fs.ErrNotExist
}

// findRole locates a role's folder.
func (l *Loader) findRole(f *file, name string) (*file, bool) {
	if !f.embedded && strings.Contains(name, "/") {
		// a path names the role's folder itself (absolute, or from the playbook)
		dir := name
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(f.dir, dir)
		}
		if st, err := os.Stat(filepath.Join(dir, "tasks")); err == nil && st.IsDir() {
			return &file{dir: dir}, true
		}
	}
	short := name
	if i := strings.LastIndex(name, "."); i >= 0 && strings.Count(name, ".") >= 2 {
		short = name[i+1:] // namespace.collection.role: looked for by its last part
	}
	for _, base := range l.rolePaths(f) {
		for _, n := range []string{name, short} {
			dir := &file{dir: filepath.Join(base, n), embedded: f.embedded}
			if f.embedded {
				dir.dir = path.Join(base, n)
			}
			for _, marker := range []string{"tasks", "handlers", "defaults", "vars", "meta"} {
				if _, err := l.roleFile(dir, marker, "main"); err == nil {
					return dir, true
				}
			}
		}
	}
	if !f.embedded {
		if dir, ok := enclosingRole(f.dir, name); ok {
			return &file{dir: dir}, true
		}
		if dir, ok := collectionRole(f.dir, name); ok {
			return &file{dir: dir}, true
		}
	}
	return nil, false
}

// collectionRole finds namespace.collection.role as Ansible does for a
// collection's own playbooks (molecule/*/converge.yml inside the
// collection) and for installed collections: a folder above with a
// galaxy.yml naming that namespace and collection, or an
// ansible_collections/NAMESPACE/COLLECTION tree under ./collections, above
// or in ~/.ansible/collections; the role is its roles/ROLE.
func collectionRole(from, name string) (string, bool) {
	parts := strings.Split(name, ".")
	if len(parts) != 3 {
		return "", false
	}
	ns, coll, role := parts[0], parts[1], parts[2]
	isRole := func(dir string) bool {
		st, err := os.Stat(filepath.Join(dir, "tasks"))
		return err == nil && st.IsDir()
	}
	if abs, err := filepath.Abs(from); err == nil {
		from = abs
	}
	var trees []string
	for dir := from; ; dir = filepath.Dir(dir) {
		if b, err := inputfile.Read(filepath.Join(dir, "galaxy.yml")); err == nil {
			var g struct{ Namespace, Name string }
			yaml.Unmarshal(b, &g)
			if g.Namespace == ns && g.Name == coll && isRole(filepath.Join(dir, "roles", role)) {
				return filepath.Join(dir, "roles", role), true
			}
		}
		trees = append(trees, filepath.Join(dir, "collections"))
		if dir == filepath.Dir(dir) {
			break
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		trees = append(trees, filepath.Join(home, ".ansible", "collections"))
	}
	for _, t := range append(trees, "/usr/share/ansible/collections") {
		if dir := filepath.Join(t, "ansible_collections", ns, coll, "roles", role); isRole(dir) {
			return dir, true
		}
	}
	return "", false
}

// enclosingRole finds the role a playbook inside a role's own repository
// names by its Galaxy name (molecule/default/converge.yml's
// "geerlingguy.postgresql"), as molecule makes it findable: a folder above
// that holds tasks/ and meta/main.yml whose galaxy_info gives that name
// (role_name, with namespace or author before it), or whose own name is
// the role's with an "ansible-role-" prefix.
func enclosingRole(from, name string) (string, bool) {
	short := name
	if i := strings.LastIndex(name, "."); i >= 0 {
		short = name[i+1:]
	}
	if abs, err := filepath.Abs(from); err == nil {
		from = abs // a relative "." has no parent to climb to
	}
	for dir := from; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if st, err := os.Stat(filepath.Join(dir, "tasks")); err != nil || !st.IsDir() {
			continue
		}
		b, err := inputfile.Read(filepath.Join(dir, "meta", "main.yml"))
		if err != nil {
			continue
		}
		var meta struct {
			Galaxy struct {
				RoleName  string `yaml:"role_name"`
				Namespace string `yaml:"namespace"`
				Author    string `yaml:"author"`
			} `yaml:"galaxy_info"`
		}
		yaml.Unmarshal(b, &meta)
		g := meta.Galaxy
		base := strings.TrimPrefix(strings.TrimPrefix(filepath.Base(dir), "ansible-role-"), "ansible-")
		for _, ok := range []bool{
			g.RoleName != "" && (name == g.RoleName || name == g.Namespace+"."+g.RoleName || name == g.Author+"."+g.RoleName),
			g.RoleName == "" && short == base,
			name == filepath.Base(dir), // molecule names the role by the project's folder
		} {
			if ok {
				return dir, true
			}
		}
	}
	return "", false
}

// role loads a role into a block: its dependencies first, then its tasks,
// with its vars and parameters as the block's vars, its defaults beneath
// the inventory, and its handlers returned for the play.
func (l *Loader) role(d *decoder, f *file, r roleRef, handler bool, chain []string) (*Task, []*Task, error) {
	for _, c := range chain {
		if c == r.name {
			return nil, nil, d.errf(r.at, "role %s depends on itself: %s -> %s", r.name, strings.Join(chain, " -> "), r.name)
		}
	}
	if len(chain) > maxIncludeDepth {
		return nil, nil, d.errf(r.at, "role dependencies nested more than %d deep", maxIncludeDepth)
	}
	dir, ok := l.findRole(f, r.name)
	if !ok {
		return nil, nil, d.errf(r.at, "role %q not found (looked in %s)", r.name, strings.Join(l.rolePaths(f), ", "))
	}
	block := &Task{Name: "role " + r.name, At: d.pos(r.at), Vars: map[string]any{}, RoleDefaults: map[string]any{},
		RoleName: r.name, Tags: r.tags, When: r.when, Become: r.become, BecomeExpr: r.becomeExpr, BecomeUser: r.becomeUser}
	vars := func(sub, from string, into map[string]any) error {
		vf, err := l.roleFile(dir, sub, or(from, "main"))
		if errors.Is(err, fs.ErrNotExist) {
			if from != "" {
				return d.errf(r.at, "role %s: no %s/%s", r.name, sub, from)
			}
			return nil
		}
		if err != nil {
			return err
		}
		vs, err := LoadVarsFile(vf.src)
		for k, v := range vs {
			into[k] = v
		}
		return err
	}
	if err := vars("defaults", r.defaultsFrom, block.RoleDefaults); err != nil {
		return nil, nil, err
	}
	if err := vars("vars", r.varsFrom, block.Vars); err != nil {
		return nil, nil, err
	}
	for k, v := range r.params {
		block.Vars[k] = v // parameters beat the role's vars
	}
	var handlers []*Task
	chain = append(chain, r.name)
	if mf, err := l.roleFile(dir, "meta", "main"); err == nil {
		deps, err := l.roleDeps(mf)
		if err != nil {
			return nil, nil, err
		}
		for _, dep := range deps {
			t, hs, err := l.role(&decoder{src: mf.src}, dir, dep, handler, chain)
			if err != nil {
				return nil, nil, err
			}
			block.Block = append(block.Block, t)
			handlers = append(handlers, hs...)
		}
	}
	if check, err := l.roleArgCheck(dir, r); err != nil {
		return nil, nil, err
	} else if check != nil {
		block.Block = append(block.Block, check)
	}
	if strings.Contains(r.tasksFrom, "{{") && !dir.embedded {
		// include_role with a templated tasks_from (resolved per host at run
		// time in Ansible): every tasks file of the role is a candidate,
		// each run on the hosts whose tasks_from names it
		ts, err := l.templatedTasksFrom(d, dir, r, handler)
		if err != nil {
			return nil, nil, err
		}
		block.Block = append(block.Block, ts...)
	} else if tf, err := l.roleFile(dir, "tasks", or(r.tasksFrom, "main")); err == nil {
		leave, err := l.enter(d, r.at, "role "+r.name, tf.src.Name)
		if err != nil {
			return nil, nil, err
		}
		defer leave()
		root, err := parseOrEmpty(tf.src, yaml.SequenceNode)
		if err != nil {
			return nil, nil, err
		}
		ts, err := l.tasks(&decoder{src: tf.src}, tf, root, handler)
		if err != nil {
			return nil, nil, err
		}
		setRole(ts, dir.dir, r.name)
		block.Block = append(block.Block, ts...)
	} else if r.tasksFrom != "" {
		return nil, nil, d.errf(r.at, "role %s: no tasks/%s", r.name, r.tasksFrom)
	}
	if hf, err := l.roleFile(dir, "handlers", or(r.handlersFrom, "main")); err == nil {
		root, err := parseOrEmpty(hf.src, yaml.SequenceNode)
		if err != nil {
			return nil, nil, err
		}
		hs, err := l.tasks(&decoder{src: hf.src}, hf, root, true)
		if err != nil {
			return nil, nil, err
		}
		setRole(hs, dir.dir, r.name)
		for _, h := range hs {
			h.Listen = append(h.Listen, r.name+" : "+h.Name) // Ansible's "role : handler" name
			h.Vars = mergeVars(block.Vars, h.Vars)
		}
		handlers = append(handlers, hs...)
	}
	if block.Block == nil {
		block.Block = []*Task{}
	}
	return block, handlers, nil
}

func mergeVars(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// roleDeps reads meta/main.yml's dependencies.
func (l *Loader) roleDeps(mf *file) ([]roleRef, error) {
	root, err := parseOrEmpty(mf.src, yaml.MappingNode)
	if err != nil {
		return nil, err
	}
	d := &decoder{src: mf.src}
	if root.Kind != yaml.MappingNode {
		// as Ansible: "the 'meta/main.yml' for role a is not a dictionary"
		return nil, d.errf(root, "a role's meta/main.yml is a mapping (galaxy_info, dependencies...), got %s", diag.KindName(root))
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "dependencies" {
			continue // galaxy_info and the rest describe the role
		}
		v := resolve(root.Content[i+1])
		if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			return nil, nil
		}
		return l.roleRefs(d, v)
	}
	return nil, nil
}

// setRole marks tasks (and the tasks of their blocks) as the role's, so
// their relative files are looked for in its folder.
func setRole(ts []*Task, dir, name string) {
	for _, t := range ts {
		if t.RoleDir == "" {
			t.RoleDir, t.RoleName = dir, name
		}
		setRole(t.Block, dir, name)
		setRole(t.Rescue, dir, name)
		setRole(t.Always, dir, name)
	}
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// roleArgCheck is the task Ansible puts before a role's own tasks when the
// role has an argument spec (meta/argument_specs.yml, or argument_specs in
// meta/main.yml) for its entry point: validate_argument_spec on the
// variables the role sees. Only what is checked is kept (type, required,
// choices, elements, options, aliases): descriptions are free text.
func (l *Loader) roleArgCheck(dir *file, r roleRef) (*Task, error) {
	entry := or(r.tasksFrom, "main")
	var specs *yaml.Node
	for _, name := range []string{"argument_specs", "main"} {
		mf, err := l.roleFile(dir, "meta", name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		root, err := parseYAML(mf.src)
		if err != nil {
			return nil, err
		}
		if specs = mapValue(root, "argument_specs"); specs != nil {
			break
		}
	}
	opts := mapValue(mapValue(specs, entry), "options")
	if opts == nil {
		return nil, nil
	}
	var spec map[string]any
	if err := opts.Decode(&spec); err != nil {
		return nil, err
	}
	args := &yaml.Node{}
	if err := args.Encode(map[string]any{"argument_spec": keepChecked(spec),
		"validate_args_context": map[string]any{"name": r.name, "type": "role", "argument_spec_name": entry}}); err != nil {
		return nil, err
	}
	return &Task{Name: "Validating arguments against arg spec " + entry, Module: "validate_argument_spec", Args: args,
		At: Pos{Src: &diag.Source{Name: r.name + "/meta/argument_specs"}, Line: opts.Line, Col: opts.Column}}, nil
}

// mapValue is the value of key in a YAML mapping, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return resolve(n.Content[i+1])
		}
	}
	return nil
}

func keepChecked(spec map[string]any) map[string]any {
	out := map[string]any{}
	for name, s := range spec {
		m, ok := s.(map[string]any)
		if !ok {
			out[name] = map[string]any{}
			continue
		}
		kept := map[string]any{}
		for _, k := range []string{"type", "required", "choices", "elements", "aliases"} {
			if v, ok := m[k]; ok {
				kept[k] = v
			}
		}
		if o, ok := m["options"].(map[string]any); ok {
			kept["options"] = keepChecked(o)
		}
		out[name] = kept
	}
	return out
}

// templatedTasksFrom loads every tasks file of a role for an include_role
// whose tasks_from is a template: one block per file, run where the
// rendered name (with or without its extension) is that file, and a guard
// that fails a host whose name matches none.
func (l *Loader) templatedTasksFrom(d *decoder, dir *file, r roleRef, handler bool) ([]*Task, error) {
	found, _ := filepath.Glob(filepath.Join(dir.dir, "tasks", "*.y*ml"))
	var out []*Task
	var names []string
	for _, p := range found {
		base := filepath.Base(p)
		name := strings.TrimSuffix(strings.TrimSuffix(base, ".yml"), ".yaml")
		tf, err := l.roleFile(dir, "tasks", name)
		if err != nil {
			continue
		}
		leave, err := l.enter(d, r.at, "role "+r.name, tf.src.Name)
		if err != nil {
			return nil, err
		}
		root, err := parseOrEmpty(tf.src, yaml.SequenceNode)
		var ts []*Task
		if err == nil {
			ts, err = l.tryInclude(func() ([]*Task, error) { return l.tasks(&decoder{src: tf.src}, tf, root, handler) })
		}
		leave()
		if err != nil {
			// loaded only where a host names it, as Ansible reads it then
			literal := strings.ReplaceAll(err.Error(), "{{", `{{"{{"}}`)
			if ts, err = failTask("role "+r.name+" tasks/"+base, d.pos(r.at), literal); err != nil {
				return nil, err
			}
		}
		setRole(ts, dir.dir, r.name)
		names = append(names, name)
		out = append(out, &Task{Name: "role " + r.name + " tasks/" + base, Block: ts, At: d.pos(r.at),
			IncludeIf: &IncludeIf{Template: r.tasksFrom, File: name, TrimExt: true}})
	}
	if len(out) == 0 {
		return nil, d.errf(r.at, "role %s: no tasks files for tasks_from %q", r.name, r.tasksFrom)
	}
	guard, err := failTask("role "+r.name+" tasks_from", d.pos(r.at), fmt.Sprintf("role %s: tasks_from %s names none of its tasks files: %s", r.name, r.tasksFrom, strings.Join(names, ", ")))
	if err != nil {
		return nil, err
	}
	guard[0].IncludeIf = &IncludeIf{Template: r.tasksFrom, Others: names, TrimExt: true}
	return append(guard, out...), nil
}

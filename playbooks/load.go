package playbooks

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/runbook-lab/runbook/internal/inputfile"
	"github.com/runbook-lab/runbook/templates"

	"go.yaml.in/yaml/v3"

	"github.com/runbook-lab/runbook/internal/diag"
)

// Loader reads playbooks from disk, or from the embedded set when no file
// of that name exists, and validates them completely.
type Loader struct {
	Embedded fs.FS // embedded playbooks; may be nil
	Catalog  Catalog

	including []string // the include_tasks chain being loaded (cycle check)
	// taskHandlers are the handlers of roles imported by tasks
	// (import_role) of the play being loaded
	taskHandlers []*Task
	baseDir      string // the top playbook's folder (its roles/ is searched too)
	// ExtraVars are the run's -e values: a templated role name may use them
	ExtraVars map[string]any
	// Dynamic: a dynamic include (include_tasks, include_role) that does
	// not load is a warning, not an error, as Ansible's --syntax-check
	// never loads one; the task fails where it runs. Off for a run, which
	// refuses an include that would fail on every host before any host.
	Dynamic bool
	// Warnings are what Dynamic let through.
	Warnings []string
	// errs are the mistakes found so far: the loader goes on after a bad
	// task or play, so that one run reports them all (up to maxErrors)
	errs []error
}

// file is a source file located on disk or in the embedded set.
type file struct {
	src      *diag.Source
	embedded bool
	dir      string
}

func (l *Loader) read(name string, rel *file) (*file, error) {
	asGiven := name
	if rel != nil && !filepath.IsAbs(name) {
		if rel.embedded {
			name = path.Join(rel.dir, name)
		} else {
			name = filepath.Join(rel.dir, name)
		}
	}
	if rel == nil && l.Embedded != nil && IsBareName(name) {
		// a bare name is the embedded playbook even when a file of that
		// name is in the current folder (a planted ./verify.yaml must not
		// run as root in its place); ./NAME runs the file
		if b, err := fs.ReadFile(l.Embedded, name); err == nil {
			return &file{src: &diag.Source{Name: "embedded:" + name, Text: b}, embedded: true, dir: "."}, nil
		}
	}
	if rel == nil || !rel.embedded {
		if b, err := inputfile.Read(name); err == nil {
			return &file{src: &diag.Source{Name: name, Text: b}, dir: filepath.Dir(name)}, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if l.Embedded != nil {
		clean := path.Clean(strings.TrimPrefix(name, "./"))
		if b, err := fs.ReadFile(l.Embedded, clean); err == nil {
			return &file{src: &diag.Source{Name: "embedded:" + clean, Text: b}, embedded: true, dir: path.Dir(clean)}, nil
		}
		// a user's playbook may import an embedded one by name
		// (import_playbook: hypervisor.yaml) when no such file is beside it
		if rel != nil && !rel.embedded && !filepath.IsAbs(asGiven) {
			clean = path.Clean(strings.TrimPrefix(filepath.ToSlash(asGiven), "./"))
			if b, err := fs.ReadFile(l.Embedded, clean); err == nil {
				return &file{src: &diag.Source{Name: "embedded:" + clean, Text: b}, embedded: true, dir: path.Dir(clean)}, nil
			}
		}
	}
	return nil, fs.ErrNotExist
}

// IsBareName says whether a playbook argument is a name (site.yaml) rather
// than a path (./site.yaml, dir/site.yaml): a name picks the embedded
// playbook first.
func IsBareName(name string) bool {
	return name != "" && !strings.ContainsRune(name, '/') && !strings.ContainsRune(name, filepath.Separator)
}

func parseYAML(src *diag.Source) (*yaml.Node, error) {
	doc, err := diag.ParseYAML(src)
	if err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, diag.At(src, 1, 1, "empty file")
	}
	return doc.Content[0], nil
}

// parseOrEmpty is parseYAML for a file Ansible reads as nothing when it
// is empty (a role's handlers/main.yml with only a comment, a vars file):
// an empty node of the given kind.
func parseOrEmpty(src *diag.Source, kind yaml.Kind) (*yaml.Node, error) {
	doc, err := diag.ParseYAML(src)
	if err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null" {
		tag := map[yaml.Kind]string{yaml.SequenceNode: "!!seq", yaml.MappingNode: "!!map"}[kind]
		return &yaml.Node{Kind: kind, Tag: tag, Line: 1, Column: 1}, nil
	}
	return doc.Content[0], nil
}

// Load reads and validates a playbook and everything it imports.
func (l *Loader) Load(name string) (*Playbook, error) {
	f, err := l.read(name, nil)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errors.New("no playbook " + name + ": not a file, nor an embedded playbook (see `runbook list`)")
		}
		return nil, err
	}
	pb := &Playbook{Name: name}
	l.including = []string{f.src.Name}
	if !f.embedded {
		l.baseDir = f.dir
	}
	l.errs = nil
	if err := l.result(l.loadInto(pb, f, 0)); err != nil {
		return nil, err
	}
	return pb, nil
}

// maxErrors bounds the mistakes one load reports.
const maxErrors = 20

// keep records a mistake and says whether to go on (nil) or stop.
func (l *Loader) keep(err error) error {
	if err == nil {
		return nil
	}
	for _, e := range l.errs {
		if e.Error() == err.Error() {
			return nil // the same mistake reached twice (an included file)
		}
	}
	l.errs = append(l.errs, err)
	if len(l.errs) >= maxErrors {
		return fmt.Errorf("%w\n(stopping after %d errors)", errors.Join(l.errs...), maxErrors)
	}
	return nil
}

// result is the load's error: every mistake kept, then err.
func (l *Loader) result(err error) error {
	if err != nil && !strings.Contains(err.Error(), "(stopping after") {
		l.keep(err)
	} else if err != nil {
		return err
	}
	switch len(l.errs) {
	case 0:
		return nil
	case 1:
		return l.errs[0]
	}
	return fmt.Errorf("%d errors:\n%w", len(l.errs), errors.Join(l.errs...))
}

var playKeys = []string{"strategy", "name", "hosts", "vars", "vars_files", "become", "become_user", "gather_facts", "serial", "tasks", "handlers", "tags", "import_playbook", "pre_tasks", "post_tasks",
	"roles", "vars_prompt", "environment", "remote_user", "become_method", "connection", "any_errors_fatal", "force_handlers", "max_fail_percentage",
	"order", "collections", "ignore_errors", "no_log", "check_mode", "gather_subset", "gather_timeout", "throttle", "debugger", "diff", "port", "timeout"}

// importPlaybookKey is the index of a play entry's import_playbook key
// (any spelling, anywhere among its keys: `- name: ...` often comes
// first), or -1.
func importPlaybookKey(pn *yaml.Node) int {
	if pn.Kind != yaml.MappingNode {
		return -1
	}
	for i := 0; i+1 < len(pn.Content); i += 2 {
		if shortAction(pn.Content[i]).Value == "import_playbook" {
			return i
		}
	}
	return -1
}

func (l *Loader) loadInto(pb *Playbook, f *file, depth int) error {
	root, err := parseYAML(f.src)
	if err != nil {
		return err
	}
	d := &decoder{src: f.src}
	if root.Kind != yaml.SequenceNode {
		return d.errf(root, "a playbook is a list of plays, got %s", diag.KindName(root))
	}
	for _, pn := range root.Content {
		pn = resolve(pn)
		if at := importPlaybookKey(pn); at >= 0 {
			// import_playbook may carry a name, vars and tags, which every imported play gets
			var importVars map[string]any
			var importTags []string
			for i := 0; i+1 < len(pn.Content); i += 2 {
				switch {
				case i == at, pn.Content[i].Value == "name":
				case pn.Content[i].Value == "vars":
					if err := resolve(pn.Content[i+1]).Decode(&importVars); err != nil {
						return d.errf(pn.Content[i+1], "import_playbook vars: expected a mapping: %v", err)
					}
				case pn.Content[i].Value == "tags":
					tags, err := d.strList(resolve(pn.Content[i+1]), "tags")
					if err != nil {
						return err
					}
					importTags = tags
				default:
					return d.errf(pn.Content[i], "import_playbook takes only a name, vars and tags besides the file name, got %q%s", pn.Content[i].Value, diag.DidYouMean(pn.Content[i].Value, []string{"vars", "name", "tags"}))
				}
			}
			target, err := d.str(resolve(pn.Content[at+1]), "import_playbook")
			if err != nil {
				return err
			}
			if depth > 10 {
				return d.errf(pn, "import_playbook nested too deep (a cycle?)")
			}
			sub, err := l.read(target, f)
			if err != nil {
				return d.errf(pn.Content[at+1], "import_playbook: cannot read %q: %v", target, err)
			}
			first := len(pb.Plays)
			if err := l.loadInto(pb, sub, depth+1); err != nil {
				return err
			}
			for _, p := range pb.Plays[first:] {
				for k, v := range importVars {
					p.Vars[k] = v
				}
				p.Tags = append(p.Tags, importTags...)
			}
			continue
		}
		p, err := l.play(d, f, pn)
		if err != nil {
			if stop := l.keep(err); stop != nil {
				return stop
			}
			continue
		}
		pb.Plays = append(pb.Plays, p)
	}
	return nil
}

func (l *Loader) play(d *decoder, f *file, n *yaml.Node) (*Play, error) {
	p := &Play{At: d.pos(n), Vars: map[string]any{}}
	var pre, post, roleTasks, roleHandlers []*Task
	var refs []roleRef
	var hostsNode *yaml.Node
	err := d.mapping(n, "play", func(k, v *yaml.Node) error {
		var err error
		switch k.Value {
		case "name":
			p.Name, err = d.str(v, "name")
		case "hosts":
			hostsNode = v
			var list []string
			list, err = d.strList(v, "hosts")
			p.Hosts = strings.Join(list, ":")
		case "vars":
			var vs map[string]any
			vs, err = d.vars(v, "vars")
			for k, x := range vs {
				p.Vars[k] = x
			}
		case "vars_files":
			if v.Kind != yaml.SequenceNode {
				return d.errf(v, "vars_files: expected a list of files")
			}
			for _, e := range v.Content {
				e = resolve(e)
				// an entry that is a list: the first of its files that exists
				candidates := []*yaml.Node{e}
				if e.Kind == yaml.SequenceNode {
					candidates = e.Content
				}
				var vf *file
				var names []string
				late := false
				for _, c := range candidates {
					name, err := d.str(c, "vars_files")
					if err != nil {
						return err
					}
					names = append(names, name)
					if templates.Has(name) {
						late = true // read for each host when the play starts
						continue
					}
					if f2, err := l.read(name, f); err == nil {
						vf = f2
						break
					}
				}
				if late && vf == nil {
					p.LateVarsFiles = append(p.LateVarsFiles, LateVarsFile{Names: names, Dir: f.dir, At: d.pos(e)})
					continue
				}
				if vf == nil {
					return d.errf(e, "vars_files: cannot read %s", strings.Join(names, " or "))
				}
				vs, err := LoadVarsFile(vf.src)
				if err != nil {
					return err
				}
				for k, x := range vs {
					p.Vars[k] = x
				}
			}
		case "vars_prompt":
			p.Prompts, err = d.prompts(v)
		case "become":
			p.Become, p.BecomeExpr, err = d.becomeFlag(v)
		case "become_user":
			p.BecomeUser, err = d.str(v, "become_user")
		case "gather_facts":
			p.GatherFacts, err = d.boolPtr(v, "gather_facts")
		case "strategy":
			p.Strategy, err = d.str(v, "strategy")
			if err == nil && p.Strategy != "linear" && p.Strategy != "free" {
				err = d.errf(v, "strategy: %q is not one runbook has (linear or free)%s", p.Strategy, diag.DidYouMean(p.Strategy, []string{"linear", "free"}))
			}
		case "serial":
			if pct, ok := strings.CutSuffix(v.Value, "%"); ok && v.Kind == yaml.ScalarNode {
				n, perr := strconv.Atoi(strings.TrimSpace(pct))
				if perr != nil || n <= 0 || n > 100 {
					return d.errf(v, "serial: expected a percentage from 1%% to 100%%, got %s", v.Value)
				}
				p.SerialPct = n
				return nil
			}
			p.Serial, err = d.integer(v, "serial")
			if err == nil && p.Serial <= 0 {
				err = d.errf(v, "serial: expected a number of hosts above 0 or a percentage, got %d", p.Serial)
			}
		case "tags":
			p.Tags, err = d.strList(v, "tags")
		case "tasks":
			p.Tasks, err = l.tasks(d, f, v, false)
		case "pre_tasks":
			pre, err = l.tasks(d, f, v, false)
		case "post_tasks":
			post, err = l.tasks(d, f, v, false)
		case "handlers":
			p.Handlers, err = l.tasks(d, f, v, true)
		case "roles":
			refs, err = l.roleRefs(d, v)
		case "environment":
			if v.Kind == yaml.ScalarNode && templates.Has(v.Value) {
				p.EnvironmentExpr, err = v.Value, d.template(v, v.Value) // a mapping variable, rendered per host
			} else {
				p.Environment, err = d.env(v)
			}
		case "remote_user":
			p.RemoteUser, err = d.str(v, "remote_user")
		case "become_method":
			err = checkBecomeMethod(d, v)
		case "connection":
			p.Connection, err = d.str(v, "connection")
			if err == nil && p.Connection != "local" && p.Connection != "ssh" && p.Connection != "smart" {
				err = d.errf(v, "connection: %q is not one runbook has (ssh or local)", p.Connection)
			}
		case "any_errors_fatal":
			p.AnyErrorsFatal, err = d.boolean(v, "any_errors_fatal")
		case "force_handlers":
			p.ForceHandlers, err = d.boolPtr(v, "force_handlers")
		case "ignore_errors":
			p.IgnoreErrors, err = d.boolean(v, "ignore_errors")
		case "no_log":
			p.NoLog, err = d.boolean(v, "no_log")
		case "check_mode":
			p.CheckMode, err = d.boolPtr(v, "check_mode")
		case "max_fail_percentage", "order", "collections", "gather_subset", "gather_timeout", "throttle", "debugger", "diff", "port", "timeout":
			// accepted; runbook's behaviour is Ansible's default for these
		default:
			return unknownKey(d, k, "play", playKeys)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if hostsNode == nil {
		return nil, d.errf(n, "play %q: missing key \"hosts\" (which hosts the play runs on)", p.Name)
	}
	if strings.TrimSpace(p.Hosts) == "" {
		return nil, d.errf(hostsNode, "hosts: an empty pattern selects no host (all, a group, a host, or a:b patterns)")
	}
	for _, r := range refs {
		if err := l.roleName(d, r.at, &r, "roles", p.Vars); err != nil {
			return nil, err
		}
		t, hs, err := l.role(d, f, r, false, nil)
		if err != nil {
			return nil, err
		}
		roleTasks = append(roleTasks, t)
		roleHandlers = append(roleHandlers, hs...)
	}
	p.Tasks = append(append(append(pre, roleTasks...), p.Tasks...), post...)
	p.Handlers = append(roleHandlers, p.Handlers...)
	p.Handlers = importedHandlers(append(p.Handlers, l.taskHandlers...))
	l.taskHandlers = nil
	return p, checkNotify(p)
}

// LoadVarsFile reads a YAML mapping of variables.
func LoadVarsFile(src *diag.Source) (map[string]any, error) {
	root, err := parseOrEmpty(src, yaml.MappingNode)
	if err != nil {
		return nil, err
	}
	d := &decoder{src: src}
	return d.vars(root, "variables file")
}

// importedHandlers gives, in place of a handlers section's import_tasks
// and literal blocks, their tasks, each a handler by its own name (as
// Ansible: the block's or import's own name is not notifiable), with the
// parent's when, tags, vars and become added. A block's rescue and always
// stay with each task (a handler that fails is rescued as its author
// wrote; Ansible 2.14 drops them, later versions keep them). An
// include_tasks stays one handler, notified by its name.
func importedHandlers(hs []*Task) []*Task {
	var out []*Task
	for _, h := range hs {
		if !h.StaticImport && (!h.IsBlock() || h.Included) {
			out = append(out, h)
			continue
		}
		for _, c := range importedHandlers(h.Block) {
			c := *c
			c.When = append(append([]string(nil), h.When...), c.When...)
			c.Tags = append(append([]string(nil), h.Tags...), c.Tags...)
			if len(h.Vars) > 0 {
				c.Vars = mergeVars(h.Vars, c.Vars)
			}
			if c.Become == nil && c.BecomeExpr == "" {
				c.Become, c.BecomeExpr = h.Become, h.BecomeExpr
			}
			if c.BecomeUser == "" {
				c.BecomeUser = h.BecomeUser
			}
			if len(h.Rescue)+len(h.Always) == 0 {
				out = append(out, &c)
				continue
			}
			inner := c
			inner.When, inner.Tags = nil, nil // now on the wrapping block
			out = append(out, &Task{Name: c.Name, Listen: c.Listen, When: c.When, Tags: c.Tags, At: c.At,
				Block: []*Task{&inner}, Rescue: h.Rescue, Always: h.Always})
		}
	}
	return out
}

// checkNotify makes sure every notify names a handler (or a listen topic).
func checkNotify(p *Play) error {
	names := map[string]bool{}
	var all []string
	for _, h := range p.Handlers {
		for _, n := range append([]string{h.Name}, h.Listen...) {
			names[n] = true
			all = append(all, n)
		}
	}
	var walk func([]*Task) error
	walk = func(ts []*Task) error {
		for _, t := range ts {
			for _, n := range t.Notify {
				if !names[n] && !templates.Has(n) { // a templated name is known when the task runs
					return t.At.Errorf("notify: no handler named %q in this play%s", n, diag.DidYouMean(n, all))
				}
			}
			for _, sub := range [][]*Task{t.Block, t.Rescue, t.Always} {
				if err := walk(sub); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(p.Tasks)
}

// LoadText loads a playbook from text (the ad-hoc command's generated play).
func (l *Loader) LoadText(name string, text []byte) (*Playbook, error) {
	pb := &Playbook{Name: name}
	f := &file{src: &diag.Source{Name: name, Text: text}, dir: "."}
	l.errs = nil
	if err := l.result(l.loadInto(pb, f, 0)); err != nil {
		return nil, err
	}
	return pb, nil
}

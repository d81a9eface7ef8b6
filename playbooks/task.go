package playbooks

import (
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/runbook-lab/runbook/internal/diag"
	"github.com/runbook-lab/runbook/internal/pyansible"
	"github.com/runbook-lab/runbook/internal/shellwords"
	"github.com/runbook-lab/runbook/templates"
)

// taskKeys are the keywords a task may have besides its one module key.
var taskKeys = []string{"name", "when", "loop", "loop_control", "register", "notify", "listen", "changed_when",
	"failed_when", "until", "retries", "delay", "ignore_errors", "tags", "become", "become_user",
	"delegate_to", "delegate_facts", "run_once", "no_log", "check_mode", "vars", "block", "rescue", "always", "include_tasks", "args", "timeout",
	"with_items", "with_list", "with_dict", "with_fileglob", "with_indexed_items", "with_first_found",
	"with_nested", "with_together", "with_sequence", "with_subelements",
	"import_tasks", "include", "import_role", "include_role", "environment", "remote_user", "become_method", "connection",
	"any_errors_fatal", "throttle", "debugger", "diff", "ignore_unreachable", "action", "local_action"}

// maxIncludeDepth bounds nested include_tasks.
const maxIncludeDepth = 50

func (l *Loader) tasks(d *decoder, f *file, n *yaml.Node, handlers bool) ([]*Task, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, d.errf(n, "expected a list of tasks, got %s", diag.KindName(n))
	}
	var out []*Task
	for _, tn := range n.Content {
		tn = resolve(tn)
		t, err := l.task(d, f, tn, handlers)
		if err != nil {
			// go on with the next task: one run reports every mistake
			if stop := l.keep(err); stop != nil {
				return nil, stop
			}
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

func (l *Loader) task(d *decoder, f *file, n *yaml.Node, handler bool) (*Task, error) {
	if n.Kind != yaml.MappingNode {
		return nil, d.errf(n, "a task is a mapping (name, module and keywords), got %s", diag.KindName(n))
	}
	t := &Task{At: d.pos(n)}
	var moduleKey, argsKey *yaml.Node
	included := false
	var includeErr error // an include_tasks whose file does not load
	var includeAt Pos
	var moduleVal, extraArgs *yaml.Node
	err := d.mapping(n, "task", func(k, v *yaml.Node) error {
		var err error
		k = shortAction(k)
		switch k.Value {
		case "name":
			t.Name, err = d.str(v, "name")
			if err == nil {
				err = d.template(v, t.Name)
			}
		case "when":
			t.When, err = d.conditions(v, "when")
		case "changed_when":
			t.ChangedWhen, err = d.conditions(v, "changed_when")
		case "failed_when":
			t.FailedWhen, err = d.conditions(v, "failed_when")
		case "until":
			t.Until, err = d.conditions(v, "until")
		case "loop", "with_items", "with_list", "with_dict", "with_fileglob", "with_indexed_items", "with_first_found",
			"with_nested", "with_together", "with_sequence", "with_subelements", "with_flattened", "with_community.general.flattened":
			if t.Loop != nil {
				return d.errf(k, "%s: the task already loops (one of loop or with_* per task)", k.Value)
			}
			t.Loop, t.LoopKind = v, strings.TrimPrefix(strings.TrimPrefix(k.Value, "with_"), "community.general.")
			if t.LoopKind == "loop" {
				t.LoopKind = ""
			}
			if err = d.templates(v); err == nil && t.LoopKind == "" {
				err = checkLoop(d, v)
			}
		case "loop_control":
			err = d.mapping(v, "loop_control", func(k2, v2 *yaml.Node) error {
				var err error
				switch k2.Value {
				case "loop_var":
					t.LoopVar, err = d.identifier(v2, "loop_var")
				case "index_var":
					t.IndexVar, err = d.identifier(v2, "index_var")
				case "label":
					t.LoopLabel, err = d.str(v2, "label")
					if err == nil {
						err = d.template(v2, t.LoopLabel)
					}
				case "pause":
					t.LoopPause, err = d.nonNegative(v2, "pause")
				case "extended":
					_, err = d.boolean(v2, "extended") // ansible_loop is always set
				default:
					return unknownKey(d, k2, "loop_control", []string{"loop_var", "index_var", "label", "pause", "extended"})
				}
				return err
			})
		case "register":
			t.Register, err = d.identifier(v, "register")
		case "notify":
			t.Notify, err = d.strList(v, "notify")
		case "listen":
			if !handler {
				return d.errf(k, "listen is only for handlers")
			}
			t.Listen, err = d.strList(v, "listen")
		case "retries":
			if v.Kind == yaml.ScalarNode && templates.Has(v.Value) {
				t.RetriesExpr, err = v.Value, d.template(v, v.Value) // read per host
				t.RetriesSet = true
				break
			}
			t.Retries, err = d.integer(v, "retries")
			t.RetriesSet = true
			if err == nil && t.Retries < 0 {
				err = d.errf(v, "retries: expected 0 or more, got %d", t.Retries)
			}
		case "delay":
			if v.Kind == yaml.ScalarNode && templates.Has(v.Value) {
				t.DelayExpr, err = v.Value, d.template(v, v.Value) // read per host
				t.DelaySet = err == nil
				break
			}
			t.Delay, err = d.nonNegative(v, "delay")
			t.DelaySet = err == nil
		case "timeout":
			t.Timeout, err = d.nonNegative(v, "timeout")
		case "async":
			if v.Kind == yaml.ScalarNode && templates.Has(v.Value) {
				t.AsyncExpr, err = v.Value, d.template(v, v.Value) // read per host
				break
			}
			t.Async, err = d.nonNegative(v, "async")
		case "poll":
			t.PollSet = true
			if v.Kind == yaml.ScalarNode && templates.Has(v.Value) {
				t.PollExpr, err = v.Value, d.template(v, v.Value) // read per host
				break
			}
			t.Poll, err = d.nonNegative(v, "poll")
			t.PollSet = err == nil
		case "ignore_errors":
			if v.Kind == yaml.ScalarNode && templates.Has(v.Value) {
				t.IgnoreErrorsExpr, err = v.Value, d.template(v, v.Value) // decided per host
			} else {
				t.IgnoreErrors, err = d.boolean(v, "ignore_errors")
			}
		case "tags":
			t.Tags, err = d.strList(v, "tags")
		case "become":
			t.Become, t.BecomeExpr, err = d.becomeFlag(v)
		case "become_user":
			t.BecomeUser, err = d.str(v, "become_user")
		case "delegate_to":
			t.DelegateTo, err = d.str(v, "delegate_to")
			t.DelegateAt = d.pos(v)
		case "delegate_facts":
			t.DelegateFacts, err = d.boolean(v, "delegate_facts")
		case "run_once":
			t.RunOnce, err = d.boolean(v, "run_once")
		case "check_mode":
			if v.Kind == yaml.ScalarNode && templates.Has(v.Value) {
				t.CheckModeExpr, err = v.Value, d.template(v, v.Value) // decided per host
			} else {
				t.CheckMode, err = d.boolPtr(v, "check_mode")
			}
		case "no_log":
			if v.Kind == yaml.ScalarNode && templates.Has(v.Value) {
				t.NoLogExpr, err = v.Value, d.template(v, v.Value) // decided per host
			} else {
				t.NoLog, err = d.boolean(v, "no_log")
			}
		case "vars":
			t.Vars, err = d.vars(v, "vars")
		case "block":
			t.Block, err = l.tasks(d, f, v, handler)
			if err == nil && t.Block == nil {
				t.Block = []*Task{}
			}
		case "rescue":
			t.Rescue, err = l.tasks(d, f, v, handler)
		case "always":
			t.Always, err = l.tasks(d, f, v, handler)
		case "import_role", "include_role":
			r, rerr := l.roleRef(d, resolve(v), k.Value)
			if rerr != nil {
				return rerr
			}
			var block *Task
			var hs []*Task
			_, rerr = l.tryInclude(func() ([]*Task, error) {
				var err error
				block, hs, err = l.role(d, f, r, handler, nil)
				return nil, err
			})
			if rerr != nil {
				if k.Value != "include_role" {
					return rerr
				}
				// include_role is dynamic in Ansible: a role that does not
				// load (not installed, for another platform) fails only the
				// hosts that reach it; without a when it is a mistake now
				includeErr = rerr
				literal := strings.ReplaceAll(rerr.Error(), "{{", `{{"{{"}}`)
				ft, ferr := failTask(k.Value+" "+r.name, d.pos(v), literal)
				if ferr != nil {
					return ferr
				}
				block, hs = &Task{Name: k.Value + " " + r.name, Block: ft, At: d.pos(v)}, nil
			}
			included = true
			t.Block = []*Task{block}
			l.taskHandlers = append(l.taskHandlers, hs...)
			if t.Name == "" {
				t.Name = k.Value + " " + r.name
			}
		case "environment":
			if v.Kind == yaml.ScalarNode && templates.Has(v.Value) {
				t.EnvironmentExpr, err = v.Value, d.template(v, v.Value) // a mapping variable, rendered per host
			} else {
				t.Environment, err = d.env(v)
			}
		case "remote_user":
			t.RemoteUser, err = d.str(v, "remote_user")
		case "become_method":
			err = checkBecomeMethod(d, v)
		case "connection":
			t.Connection, err = d.str(v, "connection")
			if err == nil && t.Connection != "local" && t.Connection != "ssh" && t.Connection != "smart" {
				err = d.errf(v, "connection: %q is not one runbook has (ssh or local)", t.Connection)
			}
		case "any_errors_fatal", "throttle", "debugger", "diff", "ignore_unreachable":
			// accepted; runbook's behaviour is Ansible's default for these
		case "action", "local_action":
			// the old form: action: module arg=value ...
			line, aerr := d.str(v, k.Value)
			if aerr != nil {
				return d.errf(v, "%s: expected \"MODULE ARGS\" (or write the module as the key)", k.Value)
			}
			mod, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
			moduleKey = &yaml.Node{Kind: yaml.ScalarNode, Value: mod, Line: v.Line, Column: v.Column}
			moduleVal = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: rest, Line: v.Line, Column: v.Column}
			if k.Value == "local_action" {
				t.DelegateTo, t.DelegateAt = "localhost", d.pos(v)
			}
		case "include_tasks", "import_tasks", "include":
			var name string
			if name, err = l.includeFile(d, t, k.Value, resolve(v)); err != nil {
				return err
			}
			included = true
			name = l.withPlaybookDir(withRolePath(name, f))
			if templates.Has(name) {
				t.Block, err = l.dynamicInclude(d, f, v, k.Value, name, literalLoop(n), handler)
			} else {
				dynamic := k.Value != "import_tasks" && !strings.HasSuffix(k.Value, ".import_tasks")
				if dynamic {
					t.Block, err = l.tryInclude(func() ([]*Task, error) { return l.staticInclude(d, f, v, k.Value, name, handler) })
				} else {
					t.Block, err = l.staticInclude(d, f, v, k.Value, name, handler)
					t.StaticImport = true
				}
				if err != nil && dynamic {
					// kept for the end: an include_tasks with a when
					// (setup-FreeBSD.yml on FreeBSD only) fails only where
					// it runs, as in Ansible, which reads the file then
					includeErr, includeAt = err, d.pos(v)
					literal := strings.ReplaceAll(err.Error(), "{{", `{{"{{"}}`)
					t.Block, err = failTask(k.Value+" "+name, includeAt, literal)
				}
			}
			if err == nil && t.Block == nil {
				t.Block = []*Task{}
			}
		case "args":
			extraArgs = v
			argsKey = k
		default:
			if strings.HasPrefix(k.Value, "with_") {
				return d.errf(k, "%s: this loop lookup is not available in runbook (it has loop, with_items, with_list, with_dict, with_fileglob, with_indexed_items, with_first_found, with_nested, with_together, with_sequence, with_subelements, with_flattened)", k.Value)
			}
			if moduleKey != nil {
				if l.Catalog.Has(k.Value) && l.Catalog.Has(moduleKey.Value) {
					return d.errf(k, "task has two modules, %q and %q: one task runs one module", moduleKey.Value, k.Value)
				}
				bad := k
				if !l.Catalog.Has(moduleKey.Value) {
					bad = moduleKey
				}
				return d.errf(bad, "unknown key or module %q%s", bad.Value, diag.DidYouMean(bad.Value, append(l.Catalog.IDs(), taskKeys...)))
			}
			moduleKey, moduleVal = k, v
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if included {
		if includeErr != nil && len(t.When) == 0 {
			if !l.Dynamic {
				return nil, includeErr // it would run everywhere: a mistake now
			}
			l.Warnings = append(l.Warnings, includeErr.Error())
		}
		if moduleKey != nil {
			return nil, d.errf(moduleKey, "include_tasks cannot be combined with a module")
		}
		if t.Name == "" {
			t.Name = "include_tasks"
		}
		t.Included = !t.StaticImport
		return t, nil
	}
	if t.Block != nil {
		if moduleKey != nil {
			return nil, d.errf(moduleKey, "a block cannot also run a module (%q)", moduleKey.Value)
		}
		return t, nil
	}
	if t.Rescue != nil || t.Always != nil {
		return nil, d.errf(n, "rescue and always belong to a block")
	}
	if moduleKey == nil {
		return nil, d.errf(n, "task %q has no module (see `runbook doc` for the list)", t.Name)
	}
	if !l.Catalog.Has(moduleKey.Value) && !f.embedded {
		if src, ok := pyansible.Find(moduleKey.Value, l.libraryDirs(f)); ok {
			return l.pythonTask(d, t, src, moduleVal, extraArgs, argsKey)
		}
	}
	if !l.Catalog.Has(moduleKey.Value) {
		if strings.Count(moduleKey.Value, ".") >= 2 {
			return nil, d.errf(moduleKey, "module %q is not available in runbook (a collection module); runbook has: %s", moduleKey.Value, strings.Join(l.Catalog.IDs(), ", "))
		}
		return nil, d.errf(moduleKey, "unknown module %q%s", moduleKey.Value, diag.DidYouMean(moduleKey.Value, append(l.Catalog.IDs(), taskKeys...)))
	}
	t.Module = l.Catalog.Canonical(moduleKey.Value)
	args, err := argsNode(d, t.Module, moduleVal, extraArgs, argsKey, l.Catalog)
	if err != nil {
		return nil, err
	}
	if err := d.templates(args); err != nil {
		return nil, err
	}
	if err := checkCommandLine(d, t.Module, args); err != nil {
		return nil, err
	}
	if err := l.Catalog.ValidateArgs(d.src, t.Module, args); err != nil {
		return nil, err
	}
	t.Args = args
	if t.Name == "" {
		t.Name = t.Module
	}
	return t, nil
}

// pythonTask is a task whose module runbook runs as Ansible does, from
// its Python source (library/, a collection, ansible-core): its
// arguments are the module's to check.
func (l *Loader) pythonTask(d *decoder, t *Task, src pyansible.Source, v, extra, extraKey *yaml.Node) (*Task, error) {
	args, err := argsNode(d, src.Name, v, extra, extraKey, nil)
	if err != nil {
		return nil, err
	}
	if err := d.templates(args); err != nil {
		return nil, err
	}
	t.Module, t.Python, t.Args = src.Name, &src, args
	if t.Name == "" {
		t.Name = t.Module
	}
	return t, nil
}

// libraryDirs are the library/ folders Ansible would search for a task
// written in f: its own folder's and those above it (a role's tasks/ sit
// one or two below the role), and the top playbook's.
func (l *Loader) libraryDirs(f *file) []string {
	dirs := pyansible.LibraryDirs(f.dir)
	if l.baseDir != "" {
		dirs = append(dirs, filepath.Join(l.baseDir, "library"))
	}
	return dirs
}

// checkLoop refuses a loop that can never be a list: a mapping, a number,
// or a plain string that is not a template naming one.
func checkLoop(d *decoder, v *yaml.Node) error {
	switch {
	case v.Kind == yaml.SequenceNode, v.Kind == yaml.AliasNode:
		return nil
	case v.Kind == yaml.ScalarNode && (v.Tag == "!!null" || templates.Has(v.Value)):
		return nil
	case v.Kind == yaml.ScalarNode && strings.HasPrefix(strings.TrimSpace(v.Value), "["):
		return nil // a flow list written as a string, decoded at run time
	}
	return d.errf(v, "loop: expected a list, or a template naming one (\"{{ .items }}\"), got %s", diag.KindName(v))
}

// checkCommandLine refuses a command line that cannot be split into words
// (an unterminated quote, a trailing backslash). Template actions are
// replaced by a plain word first: their output is one word of text.
func checkCommandLine(d *decoder, module string, args *yaml.Node) error {
	if module != "command" || args == nil || args.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(args.Content); i += 2 {
		if args.Content[i].Value != "cmd" || args.Content[i+1].Kind != yaml.ScalarNode {
			continue
		}
		v := args.Content[i+1]
		plain := templateAction.ReplaceAllString(v.Value, "x")
		if _, err := shellwords.Split(plain); err != nil {
			return d.errf(v, "command: %v", err)
		}
	}
	return nil
}

var templateAction = regexp.MustCompile(`\{\{.*?\}\}`)

// argsNode normalises a module's arguments to a mapping: a mapping as
// written, a free-form string (command, shell), or k=v words; `args:` adds
// more keys.
func argsNode(d *decoder, module string, v, extra, extraKey *yaml.Node, cat Catalog) (*yaml.Node, error) {
	var args *yaml.Node
	switch {
	case v.Kind == yaml.MappingNode:
		args = v
	case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		args = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: v.Line, Column: v.Column}
	case v.Kind == yaml.ScalarNode:
		if ff, ok := cat.(interface{ FreeFormArg(string) string }); ok && ff.FreeFormArg(module) != "" {
			args = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: v.Line, Column: v.Column, Content: []*yaml.Node{
				{Kind: yaml.ScalarNode, Tag: "!!str", Value: ff.FreeFormArg(module), Line: v.Line, Column: v.Column},
				{Kind: yaml.ScalarNode, Tag: "!!str", Value: v.Value, Line: v.Line, Column: v.Column, Style: v.Style},
			}}
			break
		}
		kv, err := ParseKV(v)
		if err != nil {
			return nil, d.errf(v, "%s: %v", module, err)
		}
		args = kv
	default:
		return nil, d.errf(v, "%s: arguments must be a mapping or key=value words, got %s", module, diag.KindName(v))
	}
	if extra != nil {
		if extra.Kind != yaml.MappingNode {
			return nil, d.errf(extra, "args: expected a mapping, got %s", diag.KindName(extra))
		}
		merged := *args
		merged.Content = append(append([]*yaml.Node(nil), args.Content...), extra.Content...)
		args = &merged
	}
	_ = extraKey
	return args, nil
}

// TaskKeywords lists the task keywords, for docs.
func TaskKeywords() []string {
	out := append([]string(nil), taskKeys...)
	sort.Strings(out)
	return out
}

// shortAction is the short name of an include or import written with its
// collection name (ansible.builtin.import_tasks: as modern roles write it).
func shortAction(k *yaml.Node) *yaml.Node {
	for _, prefix := range []string{"ansible.builtin.", "ansible.legacy."} {
		short, ok := strings.CutPrefix(k.Value, prefix)
		switch {
		case !ok:
		case short == "import_tasks", short == "include_tasks", short == "import_role", short == "include_role",
			short == "import_playbook", short == "include":
			c := *k
			c.Value = short
			return &c
		}
	}
	return k
}

// loopItem: an include's name that is the loop item itself.
var loopItem = regexp.MustCompile(`^\{\{-?\s*\.?item\s*-?\}\}$`)

// literalLoop: the items of a task's loop (or with_items) when they are
// all written strings, else nil.
func literalLoop(n *yaml.Node) []string {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; k != "loop" && k != "with_items" && k != "with_list" {
			continue
		}
		seq := resolve(n.Content[i+1])
		if seq.Kind != yaml.SequenceNode {
			return nil
		}
		var out []string
		for _, e := range seq.Content {
			e = resolve(e)
			if e.Kind != yaml.ScalarNode || templates.Has(e.Value) {
				return nil
			}
			out = append(out, e.Value)
		}
		return out
	}
	return nil
}

// Package pyansible finds the Python modules runbook has no Go module for
// (a role's or playbook's library/ folder, an installed Ansible
// collection, ansible-core's own modules) and packs one as Ansible's
// AnsiballZ does: the module and the Python packages it imports from an
// Ansible installation on this machine, as one zip that python3 runs on
// the host. Nothing here runs on a host.
package pyansible

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Source is a Python module found for a task.
type Source struct {
	Name    string // as the task wrote it
	File    string // the module's .py file on this machine
	Package string // its dotted import path inside the payload
	// Collection is the collection's folder (ns/coll) for a collection
	// module; "" for library/ and ansible-core modules.
	Collection string
	// Script is a library/ module that is not Python (a shell script,
	// any executable): it runs by itself with its arguments file as $1.
	Script bool
}

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)

// Find looks a module name up as Ansible does: a bare name in the given
// library folders first, then in ansible-core's modules and its routing
// table (a short name that moved to a collection), then a fully-qualified
// name in the installed collections.
func Find(name string, libraryDirs []string) (Source, bool) {
	if !nameRE.MatchString(name) {
		return Source{}, false
	}
	short := strings.TrimPrefix(strings.TrimPrefix(name, "ansible.builtin."), "ansible.legacy.")
	if !strings.Contains(short, ".") {
		for _, d := range libraryDirs {
			f := filepath.Join(d, short+".py")
			if regular(f) {
				return Source{Name: name, File: f, Package: short}, true
			}
			// a module in another language (timesync_provider.sh): any
			// file of that name but its documentation
			for _, ext := range []string{"", ".sh", ".bash", ".pl", ".rb"} {
				if f := filepath.Join(d, short+ext); regular(f) {
					return Source{Name: name, File: f, Package: short, Script: true}, true
				}
			}
		}
		inst := installation()
		if inst.core == "" {
			return Source{}, false
		}
		if f := filepath.Join(inst.core, "modules", short+".py"); regular(f) {
			return Source{Name: name, File: f, Package: "ansible.modules." + short}, true
		}
		if to, ok := inst.redirects[short]; ok && strings.Count(to, ".") == 2 {
			if s, ok := collectionModule(to); ok {
				s.Name = name
				return s, true
			}
		}
		return Source{}, false
	}
	if strings.Count(name, ".") != 2 || installation().core == "" {
		return Source{}, false
	}
	return collectionModule(name)
}

// collectionModule finds ns.coll.module in the collection paths.
func collectionModule(fqcn string) (Source, bool) {
	p := strings.Split(fqcn, ".")
	for _, root := range installation().collections {
		f := filepath.Join(root, "ansible_collections", p[0], p[1], "plugins", "modules", p[2]+".py")
		if regular(f) {
			return Source{Name: fqcn, File: f, Package: "ansible_collections." + fqcn[:strings.LastIndex(fqcn, ".")] + ".plugins.modules." + p[2],
				Collection: filepath.Join(root, "ansible_collections", p[0], p[1])}, true
		}
	}
	return Source{}, false
}

func regular(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// install is the Ansible installation on this machine, if any.
type install struct {
	core        string            // the ansible package folder (holds module_utils)
	version     string            // ansible-core's version
	collections []string          // folders holding ansible_collections/
	redirects   map[string]string // ansible-core's routing: short name -> FQCN
}

var (
	instOnce sync.Once
	inst     install
)

// ErrNoAnsible says a Python module cannot be packed here.
var ErrNoAnsible = errors.New("no Ansible installation on this machine (its module_utils are packed with the module): install ansible-core")

// installation locates Ansible once: python3 says where its package is.
func installation() install {
	instOnce.Do(func() {
		// the system's python3 first: Ansible from the OS's packages is
		// installed for it, whatever python3 comes first on PATH
		var out []byte
		for _, py := range []string{"/usr/bin/python3", "python3"} {
			b, err := exec.Command(py, "-c", "import ansible, ansible.release, os; print(os.path.dirname(ansible.__file__)); print(ansible.release.__version__)").Output()
			if err == nil {
				out = b
				break
			}
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 2 || !regular(filepath.Join(lines[0], "module_utils", "basic.py")) {
			return
		}
		inst.core, inst.version = lines[0], lines[1]
		var paths []string
		for _, env := range []string{"ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS"} {
			for _, p := range filepath.SplitList(os.Getenv(env)) {
				if p != "" {
					paths = append(paths, p)
				}
			}
		}
		if home, err := os.UserHomeDir(); err == nil {
			paths = append(paths, filepath.Join(home, ".ansible", "collections"))
		}
		paths = append(paths, "/usr/share/ansible/collections", filepath.Dir(inst.core))
		inst.collections = paths
		inst.redirects = map[string]string{}
		if b, err := os.ReadFile(filepath.Join(inst.core, "config", "ansible_builtin_runtime.yml")); err == nil {
			var rt struct {
				Routing struct {
					Modules map[string]struct {
						Redirect string `yaml:"redirect"`
					} `yaml:"modules"`
				} `yaml:"plugin_routing"`
			}
			if yaml.Unmarshal(b, &rt) == nil {
				for k, v := range rt.Routing.Modules {
					if v.Redirect != "" {
						inst.redirects[k] = v.Redirect
					}
				}
			}
		}
	})
	return inst
}

// Version is the installed ansible-core's version ("" without one).
func Version() string { return installation().version }

// LibraryDirs are the library/ folders Ansible would search for a task
// written in a file of dir: dir's own and those above it (a role's tasks
// sit one or two folders below the role, whose library/ holds its
// modules).
func LibraryDirs(dir string) []string {
	var dirs []string
	for i := 0; i < 4; i++ {
		dirs = append(dirs, filepath.Join(dir, "library"))
		up := filepath.Dir(dir)
		if up == dir {
			break
		}
		dir = up
	}
	return dirs
}

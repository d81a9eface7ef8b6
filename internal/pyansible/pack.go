package pyansible

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

var payloads sync.Map // module file -> []byte

// Payload is the zip python3 runs on the host: the module, ansible-core's
// module_utils and, for a collection module, its collection's
// module_utils; its __main__ runs the module as Ansible would.
func Payload(src Source) ([]byte, error) {
	if b, ok := payloads.Load(src.File); ok {
		return b.([]byte), nil
	}
	inst := installation()
	if inst.core == "" {
		return nil, ErrNoAnsible
	}
	files := map[string][]byte{
		// ansible's own __init__ imports the controller side; the module
		// needs the package only as a namespace
		"ansible/__init__.py": nil,
		"__main__.py": []byte(fmt.Sprintf("import runpy\nrunpy.run_module(%s, run_name='__main__', alter_sys=True)\n",
			pyString(src.Package))),
	}
	if err := addTree(files, filepath.Join(inst.core, "module_utils"), "ansible/module_utils"); err != nil {
		return nil, err
	}
	body, err := os.ReadFile(src.File)
	if err != nil {
		return nil, err
	}
	files[strings.ReplaceAll(src.Package, ".", "/")+".py"] = body
	if src.Collection != "" {
		mu := filepath.Join(src.Collection, "plugins", "module_utils")
		if fi, err := os.Stat(mu); err == nil && fi.IsDir() {
			if err := addTree(files, mu, path.Join(path.Dir(strings.ReplaceAll(src.Package, ".", "/")), "..", "module_utils")); err != nil {
				return nil, err
			}
		}
	}
	// every folder a package (the collections' are namespace packages,
	// which zipimport does not find)
	for name := range files {
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			if _, ok := files[d+"/__init__.py"]; !ok {
				files[d+"/__init__.py"] = nil
			}
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, path.Clean(n))
	}
	sort.Strings(names)
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := z.Create(n)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(files[n]); err != nil {
			return nil, err
		}
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	payloads.Store(src.File, buf.Bytes())
	return buf.Bytes(), nil
}

// addTree adds every .py file under dir as prefix/relative path.
func addTree(files map[string][]byte, dir, prefix string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "__pycache__" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".py") || !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[path.Clean(path.Join(prefix, filepath.ToSlash(rel)))] = b
		return nil
	})
}

// pyString is a Python string literal (JSON's is one).
func pyString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// ScriptArgs is the arguments file of a module that is not Python: JSON
// when it says WANT_JSON, else Ansible's old style, key='value' words.
func ScriptArgs(src Source, args map[string]any, check bool) ([]byte, error) {
	body, err := os.ReadFile(src.File)
	if err != nil {
		return nil, err
	}
	all := map[string]any{"_ansible_check_mode": check}
	for k, v := range args {
		all[k] = v
	}
	if bytes.Contains(body, []byte("WANT_JSON")) {
		return json.Marshal(all)
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := fmt.Sprint(all[k])
		if x, ok := all[k].(bool); ok {
			v = map[bool]string{true: "True", false: "False"}[x]
		}
		fmt.Fprintf(&b, "%s='%s' ", k, strings.ReplaceAll(v, "'", `'"'"'`))
	}
	return []byte(b.String()), nil
}

// Args is the arguments file AnsibleModule reads (its path is the
// module's first argument): the task's arguments and the internal ones
// Ansible passes.
func Args(src Source, args map[string]any, check, diff bool, tmpdir string) ([]byte, error) {
	all := map[string]any{}
	for k, v := range args {
		all[k] = v
	}
	for k, v := range map[string]any{
		"_ansible_check_mode": check, "_ansible_diff": diff, "_ansible_no_log": false, "_ansible_debug": false,
		"_ansible_verbosity": 0, "_ansible_version": installation().version, "_ansible_module_name": src.Name,
		"_ansible_syslog_facility": "LOG_USER", "_ansible_selinux_special_fs": []string{"fuse", "nfs", "vboxsf", "ramfs", "9p", "vfat"},
		"_ansible_string_conversion_action": "warn", "_ansible_keep_remote_files": false, "_ansible_shell_executable": "/bin/sh",
		"_ansible_tmpdir": tmpdir, "_ansible_remote_tmp": tmpdir,
	} {
		all[k] = v
	}
	return json.Marshal(map[string]any{"ANSIBLE_MODULE_ARGS": all})
}

// Result is the JSON object a module printed last (a module may print
// other lines before it).
func Result(stdout string) (map[string]any, bool) {
	for i := strings.LastIndex(stdout, "{"); i >= 0; i = strings.LastIndex(stdout[:i], "{") {
		if i > 0 && stdout[i-1] != '\n' {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(strings.TrimSpace(stdout[i:])), &m) == nil {
			return m, true
		}
	}
	return nil, false
}

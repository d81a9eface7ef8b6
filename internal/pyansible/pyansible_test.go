package pyansible

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A library/ module is found by its bare name (Python first, then a
// script), never by a name that could climb out of the folder; a module's
// JSON answer is found after other output; old-style arguments are words a
// shell can source whatever they hold.
func TestFindArgsAndResult(t *testing.T) {
	lib := t.TempDir()
	os.WriteFile(filepath.Join(lib, "mine.py"), []byte("print('{}')\n"), 0o644)
	os.WriteFile(filepath.Join(lib, "tool.sh"), []byte("#!/bin/sh\n"), 0o755)
	if s, ok := Find("mine", []string{lib}); !ok || s.Script || s.Package != "mine" {
		t.Errorf("mine: %+v %v", s, ok)
	}
	if s, ok := Find("tool", []string{lib}); !ok || !s.Script {
		t.Errorf("tool: %+v %v", s, ok)
	}
	for _, bad := range []string{"../mine", "mine/x", "", "a b", "x.y"} {
		if s, ok := Find(bad, []string{lib}); ok && s.File == filepath.Join(lib, "mine.py") {
			t.Errorf("%q found %s", bad, s.File)
		}
	}
	out := "warning: something\n{not json\n{\"changed\": true, \"msg\": \"a {brace}\"}\n"
	if m, ok := Result(out); !ok || m["changed"] != true || m["msg"] != "a {brace}" {
		t.Errorf("result: %v %v", m, ok)
	}
	if _, ok := Result("no json at all"); ok {
		t.Error("a result from no JSON")
	}
	b, err := ScriptArgs(Source{File: filepath.Join(lib, "tool.sh")}, map[string]any{"word": "it's $(x)", "on": true}, false)
	if err != nil || string(b) != `_ansible_check_mode='False' on='True' word='it'"'"'s $(x)' ` {
		t.Errorf("old-style args: %q %v", b, err)
	}
}

// The payload holds the module, Ansible's module_utils and a __main__
// that runs the module by its import path.
func TestPayload(t *testing.T) {
	if installation().core == "" {
		t.Skip("no Ansible installation (scripts/test-deps.sh installs one)")
	}
	lib := t.TempDir()
	os.WriteFile(filepath.Join(lib, "mine.py"), []byte("print('{}')\n"), 0o644)
	s, _ := Find("mine", []string{lib})
	b, err := Payload(s)
	if err != nil {
		t.Fatal(err)
	}
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range z.File {
		have[f.Name] = true
	}
	for _, want := range []string{"__main__.py", "mine.py", "ansible/__init__.py", "ansible/module_utils/basic.py"} {
		if !have[want] {
			t.Errorf("payload lacks %s", want)
		}
	}
	if c, ok := Find("community.general.read_csv", nil); ok {
		b, err := Payload(c)
		if err != nil || !bytes.Contains(b, []byte("plugins/module_utils")) || !strings.HasPrefix(c.Package, "ansible_collections.community.general.plugins.modules.") {
			t.Errorf("a collection module's payload: %v %s", err, c.Package)
		}
	}
}

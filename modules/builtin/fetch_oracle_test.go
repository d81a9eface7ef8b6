package builtin_test

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/modules"
)

// fetch lays its copies out as Ansible's does: the same steps (a folder
// per host, flat to a file and to a folder, a relative dest, a missing file
// with and without fail_on_missing, a directory, a second run) run by
// ansible-playbook and by runbook give the same changed and failed flags
// and the same files with the same contents. Modes are not compared:
// runbook writes 0600 where Ansible leaves it to the umask, on purpose.
func TestFetchMatchesAnsible(t *testing.T) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("ansible-playbook not installed (make test-deps installs it)")
	}
	src := t.TempDir()
	for name, body := range map[string]string{"a.conf": "port = 5432\n", "empty": "", "sub/b.key": "secret\n"} {
		p := filepath.Join(src, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(body), 0o644)
	}
	steps := func(out string) []map[string]any {
		f := func(args map[string]any) map[string]any {
			return map[string]any{"fetch": args, "ignore_errors": true}
		}
		return []map[string]any{
			f(map[string]any{"src": src + "/a.conf", "dest": out + "/tree"}),
			f(map[string]any{"src": src + "/a.conf", "dest": out + "/tree"}),
			f(map[string]any{"src": src + "/sub/b.key", "dest": out + "/tree/"}),
			f(map[string]any{"src": src + "/a.conf", "dest": out + "/flat/one.conf", "flat": true}),
			f(map[string]any{"src": src + "/sub/b.key", "dest": out + "/flatdir/", "flat": true}),
			f(map[string]any{"src": src + "/empty", "dest": out + "/flatdir/", "flat": "yes"}),
			f(map[string]any{"src": src + "/a.conf", "dest": "rel"}),
			f(map[string]any{"src": src + "/missing", "dest": out + "/tree"}),
			f(map[string]any{"src": src + "/missing", "dest": out + "/tree", "fail_on_missing": false}),
			f(map[string]any{"src": src + "/sub", "dest": out + "/tree"}),
			f(map[string]any{"src": src + "/a.conf", "dest": out + "/flat/one.conf", "flat": true, "validate_checksum": false}),
		}
	}
	ansDir, rbDir := t.TempDir(), t.TempDir()
	want := ansiblePlay(t, ansDir, steps(ansDir))
	for i, step := range steps(rbDir) {
		args := step["fetch"].(map[string]any)
		m := decodeModule(t, "fetch", args)
		e := env(t, false)
		e.Vars["playbook_dir"] = rbDir
		res, err := modules.Execute(context.Background(), m, e)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		wantChanged, _ := want[i]["changed"].(bool)
		wantFailed, _ := want[i]["failed"].(bool)
		if res.Changed != wantChanged || res.Failed != wantFailed {
			t.Errorf("step %d %v: runbook changed=%v failed=%v (%s), Ansible changed=%v failed=%v (%v)", i, args, res.Changed, res.Failed, res.Msg, wantChanged, wantFailed, want[i]["msg"])
		}
	}
	if a, r := fetchedFiles(ansDir), fetchedFiles(rbDir); a != r {
		t.Errorf("files differ:\nAnsible:\n%s\nrunbook:\n%s", a, r)
	}
}

func decodeModule(t *testing.T, id string, args map[string]any) modules.Module {
	t.Helper()
	info, _ := modules.Default.Lookup(id)
	m := info.New()
	if err := decodeInto(args, m); err != nil {
		t.Fatal(err)
	}
	return m
}

// fetchedFiles is every file under dir with its content, but the
// playbook and hidden folders (Ansible's ~/.ansible is there).
func fetchedFiles(dir string) string {
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != dir && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() != "p.yaml" {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel+" "+string(b))
		}
		return nil
	})
	sort.Strings(out)
	return strings.Join(out, "\n")
}

package builtin_test

import (
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// tree lists a folder: path, mode and content of every file.
func tree(t *testing.T, root string) string {
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		info, _ := d.Info()
		rel, _ := filepath.Rel(root, p)
		line := fmt.Sprintf("%s %v", rel, info.Mode())
		if info.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			line += " " + string(b)
		}
		out = append(out, line)
		return nil
	})
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// unarchive leaves the same tree as Ansible's for tar.gz and zip archives,
// from the controller and from the host, and a second run changes nothing.
func TestUnarchiveMatchesAnsible(t *testing.T) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("ansible-playbook not installed (make test-deps installs it)")
	}
	if _, err := exec.LookPath("zip"); err != nil {
		t.Skip("zip not installed (make test-deps installs it)")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src", "tool")
	os.MkdirAll(filepath.Join(src, "bin"), 0o755)
	os.WriteFile(filepath.Join(src, "bin", "tool"), []byte("#!/bin/sh\necho tool\n"), 0o755)
	os.WriteFile(filepath.Join(src, "README"), []byte("read me\n"), 0o644)
	for _, c := range [][]string{
		{"tar", "-czf", filepath.Join(dir, "tool.tar.gz"), "-C", filepath.Join(dir, "src"), "tool"},
		{"sh", "-c", "cd " + filepath.Join(dir, "src") + " && zip -qr " + filepath.Join(dir, "tool.zip") + " tool"},
		// an archive of "." (its first entry is the folder itself, dated 2005)
		{"sh", "-c", "touch -d 2005-01-01 " + src + " && tar -czf " + filepath.Join(dir, "dot.tar.gz") + " -C " + src + " ."},
	} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", c, err, out)
		}
	}
	// a URL with remote_src: the host downloads it first (served on loopback)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	cases := []map[string]any{
		{"src": srv.URL + "/tool.tar.gz", "remote_src": true},
		{"src": filepath.Join(dir, "tool.tar.gz")},
		{"src": filepath.Join(dir, "tool.zip")},
		{"src": filepath.Join(dir, "tool.tar.gz"), "remote_src": true},
		{"src": filepath.Join(dir, "tool.tar.gz"), "exclude": []any{"tool/README"}},
		{"src": filepath.Join(dir, "tool.zip"), "copy": false}, // the older spelling (geerlingguy's git role)
		{"src": filepath.Join(dir, "dot.tar.gz")},
	}
	// dest's mtime before the run: long ago, so a change (or a reset to
	// the archive's own time) shows
	old, started := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), time.Now().Add(-time.Second)
	var tasks []map[string]any
	for i, c := range cases {
		for _, side := range []string{"ansible", "runbook"} {
			os.MkdirAll(filepath.Join(dir, side, fmt.Sprint(i)), 0o755)
			os.Chtimes(filepath.Join(dir, side, fmt.Sprint(i)), old, old)
		}
		args := map[string]any{"dest": filepath.Join(dir, "ansible", fmt.Sprint(i))}
		for k, v := range c {
			args[k] = v
		}
		tasks = append(tasks, map[string]any{"unarchive": args})
	}
	ansiblePlay(t, dir, tasks)
	for i, c := range cases {
		args := map[string]any{"dest": filepath.Join(dir, "runbook", fmt.Sprint(i))}
		for k, v := range c {
			args[k] = v
		}
		// check mode before and after: it foresees the unpacking, and
		// unpacks nothing
		if changed, err := runModuleIn(t, "unarchive", args, true); err != nil || !changed || tree(t, args["dest"].(string)) != "" {
			t.Errorf("case %d in check mode: changed=%v (%v), dest holds %q", i, changed, err, tree(t, args["dest"].(string)))
		}
		defer func() {
			// (a URL is downloaded by the run, so its plan says "download")
			if changed, err := runModuleIn(t, "unarchive", args, true); err != nil || changed != (c["remote_src"] == true && strings.Contains(c["src"].(string), "://")) {
				t.Errorf("case %d in check mode after the run: changed=%v (%v)", i, changed, err)
			}
		}()
		for round := 0; round < 2; round++ {
			changed, err := runModuleChanged(t, "unarchive", args)
			if err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
			if changed != (round == 0) {
				t.Errorf("case %d round %d: changed=%v", i, round, changed)
			}
		}
		// dest itself keeps its mode (copying the private folder's "."
		// over it made it 0700)
		sa, _ := os.Stat(filepath.Join(dir, "ansible", fmt.Sprint(i)))
		sr, _ := os.Stat(filepath.Join(dir, "runbook", fmt.Sprint(i)))
		if sa.Mode() != sr.Mode() {
			t.Errorf("case %d: dest's mode runbook %v, Ansible %v", i, sr.Mode(), sa.Mode())
		}
		// and its mtime moves as Ansible's does (new entries: now), never
		// set to the archive's time (copying "." did that)
		if sa.ModTime().Equal(old) != sr.ModTime().Equal(old) || sr.ModTime().Before(started) != sa.ModTime().Before(started) {
			t.Errorf("case %d: dest's mtime runbook %v, Ansible %v (set to %v before, run at %v)", i, sr.ModTime(), sa.ModTime(), old, started)
		}
		a, r := tree(t, filepath.Join(dir, "ansible", fmt.Sprint(i))), tree(t, filepath.Join(dir, "runbook", fmt.Sprint(i)))
		if a != r {
			t.Errorf("case %d %v:\nrunbook:\n%s\nAnsible:\n%s", i, c, r, a)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "runbook", ".runbook-unarchive*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "runbook", "*", ".runbook-unarchive*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

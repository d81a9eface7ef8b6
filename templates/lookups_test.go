package templates

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fileglob as cloudalchemy's grafana role uses it: a role's files/ first,
// regular files only, sorted; nothing matching is an empty list.
func TestFileGlob(t *testing.T) {
	role := t.TempDir()
	os.MkdirAll(filepath.Join(role, "files", "dash", "sub.json"), 0o755)
	for _, f := range []string{"b.json", "a.json", "c.txt"} {
		os.WriteFile(filepath.Join(role, "files", "dash", f), []byte("x"), 0o644)
	}
	got, err := FileGlob([]string{"dash/*.json"}, role, "")
	want := []any{filepath.Join(role, "files/dash/a.json"), filepath.Join(role, "files/dash/b.json")}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("%v %v, want %v", got, err, want)
	}
	if got, err := FileGlob([]string{"none/*.json"}, role); err != nil || len(got) != 0 {
		t.Errorf("no match: %v %v", got, err)
	}
	if _, err := FileGlob([]string{"dash/[.json"}, role); err == nil {
		t.Error("a bad pattern gave no error")
	}
}

// lookup('url') on a loopback server: lines, or the whole body; a 404 is
// an error, as Ansible's.
func TestLookupURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/sums.txt" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("sum1  f1\nsum2  f2\n"))
	}))
	defer srv.Close()
	if got, err := lookupURL(srv.URL+"/sums.txt", true); err != nil || !reflect.DeepEqual(got, []any{"sum1  f1", "sum2  f2"}) {
		t.Errorf("lines: %v %v", got, err)
	}
	if got, err := lookupURL(srv.URL+"/sums.txt", false); err != nil || !reflect.DeepEqual(got, []any{"sum1  f1\nsum2  f2\n"}) {
		t.Errorf("whole: %v %v", got, err)
	}
	if _, err := lookupURL(srv.URL+"/nope", true); err == nil {
		t.Error("a 404 gave no error")
	}
	if _, err := lookupURL("file:///etc/passwd", true); err == nil {
		t.Error("a file URL was read")
	}
}

// A computed URL or pattern is confined: a value from a host cannot make
// the controller fetch from its own networks or list its folders.
func TestComputedLookupsAreConfined(t *testing.T) {
	for _, tpl := range []string{
		`{{ lookupURL (print "http://127.0.0.1:" .port "/x") true }}`,
		`{{ lookupURL (print "http://169.254.169.254/latest/meta-data/" .x) true }}`,
		`{{ fileGlob (print "/etc/" .x) .role_path }}`,
		`{{ fileGlob (print "../../" .x) .role_path }}`,
	} {
		_, err := Render("t", tpl, map[string]any{"port": 9, "x": "*", "role_path": t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "computed") {
			t.Errorf("%s: %v, want refused as computed", tpl, err)
		}
	}
}

package templates

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A template reaches the controller only where its author wrote so.
func TestConfinedReach(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "files"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "files", "motd"), []byte("hello\n"), 0o644)
	os.Symlink("/etc/passwd", filepath.Join(dir, "files", "escape"))
	fifo := filepath.Join(dir, "files", "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RB_CONFINE_TEST", "visible")
	vars := map[string]any{"dir": dir, "name": "motd", "abs": "/etc/passwd", "up": "../../../../etc/passwd",
		"esc": "escape", "fifo": "fifo", "var": "RB_CONFINE_TEST", "home": os.Getenv("HOME")}
	ok := map[string]string{
		`{{ env "RB_CONFINE_TEST" }}`:                 "visible",
		`{{ lookupFile .name .dir }}`:                 "hello",
		`{{ lookupFile "motd" .dir }}`:                "hello",
		`{{ lookupFile "/etc/passwd" | len | gt 0 }}`: "false",
	}
	for in, want := range ok {
		got, err := Render("t", in, vars)
		if err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", in, got, err, want)
		}
	}
	refused := map[string]string{
		`{{ env .var }}`:                  "literally",
		`{{ .var | env }}`:                "literally",
		`{{ expandenv "$HOME" }}`:         "not defined",
		`{{ getHostByName "localhost" }}`: "not defined",
		`{{ lookupFile .abs .dir }}`:      "outside",
		`{{ lookupFile .up .dir }}`:       "outside",
		`{{ lookupFile .esc .dir }}`:      "outside",
		`{{ lookupFile .abs }}`:           "none is known",
		`{{ .abs | lookupFile }}`:         "none is known",
		`{{ if true }}{{ with .dir }}{{ lookupFile $.abs . }}{{ end }}{{ end }}`: "outside",
		`{{ lookupFile "/dev/zero" }}`:                                           "not a regular file",
		`{{ lookupFile .fifo .dir }}`:                                            "not a regular file",
	}
	for in, want := range refused {
		done := make(chan struct{})
		var got string
		var err error
		go func() { got, err = Render("t", in, vars); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s hangs", in)
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s = %q, %v; want an error with %q", in, got, err, want)
		}
	}
	// a one-action value (NativeValue) is confined the same way
	if _, _, err := Native(`{{ env .var }}`, vars); err == nil {
		t.Errorf("Native: env with a computed name ran")
	}
}

// A template that would spin for days is an error after MaxExecTime.
func TestTemplateTimeBound(t *testing.T) {
	old := MaxExecTime
	MaxExecTime = 300 * time.Millisecond
	defer func() { MaxExecTime = old }()
	_, err := Render("t", `{{ range $i := until 1000000 }}{{ range $j := until 1000000 }}{{ end }}{{ end }}`, nil)
	if err == nil || !strings.Contains(err.Error(), "time bound") {
		t.Errorf("nested ranges: %v", err)
	}
	if got, err := Render("t", `{{ range $i := until 3 }}{{ $i }}{{ end }}`, nil); err != nil || got != "012" {
		t.Errorf("a small range: %q %v", got, err)
	}
}

// lookup('template') with a computed name reads only under the role's or
// playbook's folder, and a template that looks itself up ends with an
// error, not a stack overflow.
func TestLookupTemplateConfinedAndBounded(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "self.j2"), []byte(`{{ lookupTemplate "self.j2" $ .playbook_dir }}`), 0o644)
	os.WriteFile(filepath.Join(dir, "hi.j2"), []byte(`hi {{ .who }}`), 0o644)
	vars := map[string]any{"playbook_dir": dir, "who": "ada", "evil": "/etc/hostname"}
	if out, err := Render("t", `{{ lookupTemplate "hi.j2" $ .playbook_dir }}`, vars); err != nil || out != "hi ada" {
		t.Errorf("literal: %q %v", out, err)
	}
	if _, err := Render("t", `{{ lookupTemplate .evil $ .playbook_dir }}`, vars); err == nil || !strings.Contains(err.Error(), "only under") {
		t.Errorf("a computed name outside the playbook's folder: %v", err)
	}
	if _, err := Render("t", `{{ lookupTemplate "self.j2" $ .playbook_dir }}`, vars); err == nil || !strings.Contains(err.Error(), "nested more than 8") {
		t.Errorf("self lookup: %v", err)
	}
}

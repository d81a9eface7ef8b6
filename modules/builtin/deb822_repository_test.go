package builtin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/modules/builtin"
)

// The .sources file as ansible-core's deb822_repository writes it: fields
// sorted by argument name, its spellings (X-Repolib-Name, URIs, Signed-By),
// booleans as yes/no, a multi-line key indented with "." for blank lines.
func TestDeb822RepositoryFormat(t *testing.T) {
	no := false
	d := &builtin.Deb822Repository{Name: "PostgreSQL PGDG", URIs: modules.StringList{"http://apt.postgresql.org/pub/repos/apt"},
		Suites: modules.StringList{"bookworm-pgdg"}, Components: modules.StringList{"main"}, Enabled: &no,
		SignedBy: "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBE\n-----END PGP PUBLIC KEY BLOCK-----\n"}
	dir := t.TempDir()
	got, err := runDeb822(t, d, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	want := `Components: main
Enabled: no
X-Repolib-Name: PostgreSQL PGDG
Signed-By:
    -----BEGIN PGP PUBLIC KEY BLOCK-----
    .
    mQINBE
    -----END PGP PUBLIC KEY BLOCK-----
Suites: bookworm-pgdg
Types: deb
URIs: http://apt.postgresql.org/pub/repos/apt
`
	if got.Data["repo"] != want {
		t.Errorf("got:\n%s\nwant:\n%s", got.Data["repo"], want)
	}
}

// runDeb822 runs the module with the sources and keyrings paths moved
// under dir (the module's own paths are /etc/apt/...).
func runDeb822(t *testing.T, d *builtin.Deb822Repository, dir string, check bool) (*modules.Result, error) {
	e := env(t, check)
	e.Host = rootedHost{Host: e.Host, root: dir}
	return modules.Execute(context.Background(), d, e)
}

// rootedHost runs every command with /etc/apt/ moved under a folder, so the
// test leaves this machine's apt alone.
type rootedHost struct {
	modules.Host
	root string
}

func (h rootedHost) Run(ctx context.Context, c modules.Cmd) (modules.CmdResult, error) {
	moved := h.root + "/etc/apt/"
	c.Script = strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(c.Script, moved, "\x00"), "/etc/apt/", moved), "\x00", moved)
	os.MkdirAll(h.root+"/etc/apt/sources.list.d", 0o755)
	return h.Host.Run(ctx, c)
}

// A key given as a URL is downloaded on the host (armored: .asc), named in
// Signed-By; a second run changes nothing; a new key is a change that
// --check reports without writing; absent removes the file and the key.
func TestDeb822RepositoryKeyFromURL(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("writes files owned by root")
	}
	key := "-----BEGIN PGP PUBLIC KEY BLOCK-----\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, key) }))
	defer srv.Close()
	dir := t.TempDir()
	d := &builtin.Deb822Repository{Name: "My_Repo 1", URIs: modules.StringList{"http://127.0.0.1/apt"}, Suites: modules.StringList{"stable"},
		Components: modules.StringList{"main"}, SignedBy: srv.URL + "/key.asc", State: "present"}
	r, err := runDeb822(t, d, dir, false)
	if err != nil || !r.Changed {
		t.Fatalf("first run: %+v %v", r, err)
	}
	keyFile := dir + "/etc/apt/keyrings/my-repo-1.asc"
	if b, err := os.ReadFile(keyFile); err != nil || string(b) != key {
		t.Fatalf("key file: %v %q", err, b)
	}
	src, _ := os.ReadFile(dir + "/etc/apt/sources.list.d/my-repo-1.sources")
	if !strings.Contains(string(src), "Signed-By: "+keyFile+"\n") {
		t.Errorf("sources:\n%s", src)
	}
	if r, err := runDeb822(t, d, dir, false); err != nil || r.Changed {
		t.Errorf("second run: %+v %v", r, err)
	}
	key = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nBBBB\n-----END PGP PUBLIC KEY BLOCK-----\n"
	if r, err := runDeb822(t, d, dir, true); err != nil || !r.Changed {
		t.Errorf("check with a new key: %+v %v", r, err)
	}
	if b, _ := os.ReadFile(keyFile); !strings.Contains(string(b), "AAAA") {
		t.Error("--check replaced the key")
	}
	d.State = "absent"
	if r, err := runDeb822(t, d, dir, false); err != nil || !r.Changed {
		t.Errorf("absent: %+v %v", r, err)
	}
	if _, err := os.Stat(keyFile); err == nil {
		t.Error("the key is still there")
	}
}

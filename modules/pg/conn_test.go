package pg

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// login_host and login_unix_socket as community.postgresql reads them: the
// socket directory wins when the host is empty or localhost.
func TestLoginHostAndSocket(t *testing.T) {
	for _, c := range []struct {
		conn PgConn
		want string // psql's -h, "" for none
	}{
		{PgConn{}, ""},
		{PgConn{Host: "db1"}, "db1"},
		{PgConn{Socket: "/run/pg"}, "/run/pg"},
		{PgConn{Host: "localhost", Socket: "/var/run/postgresql"}, "/var/run/postgresql"},
		{PgConn{Host: "10.0.0.5", Socket: "/var/run/postgresql"}, "10.0.0.5"},
		{PgConn{Host: "localhost"}, "localhost"},
	} {
		args := strings.Join(c.conn.psqlArgs(), " ")
		_, h, found := strings.Cut(args, " -h ")
		h, _, _ = strings.Cut(h, " ")
		if (c.want == "") == found || h != c.want && c.want != "" {
			t.Errorf("%+v: psql %s; want -h %q", c.conn, args, c.want)
		}
	}
}

// FindPsql picks the real psql where the OS's packages put it, never
// Debian's Perl pg_wrapper on PATH (seconds per call on an emulated host).
func TestFindPsqlSkipsTheWrapper(t *testing.T) {
	out, err := exec.Command("/bin/sh", "-c", FindPsql+`; echo "$psql"`).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.TrimSpace(string(out))
	real, _ := filepath.Glob("/usr/lib/postgresql/*/bin/psql")
	switch {
	case len(real) == 0 && got != "psql":
		t.Errorf("no packaged psql here, got %q, want psql from PATH", got)
	case len(real) > 0 && !slices.Contains(real, got):
		t.Errorf("got %q, want one of %v", got, real)
	}
	if len(real) > 0 {
		// and it runs, with arguments quoted as given
		out, err := exec.Command("/bin/sh", "-c", PsqlLine("--version")).CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "psql (PostgreSQL)") {
			t.Errorf("PsqlLine(--version): %q %v", out, err)
		}
	}
}

package pg

import (
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

package pg

import (
	"context"
	"encoding/csv"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/runbook-lab/runbook/hostexec"
	"github.com/runbook-lab/runbook/modules"
)

// PgConn says how a PostgreSQL module reaches its server: by default as the
// `postgres` OS user over the local socket (peer authentication), so no
// password is needed or shown.
type PgConn struct {
	DB        string `yaml:"db" aliases:"login_db" doc:"database" default:"postgres"`
	Port      int    `yaml:"port" aliases:"login_port" doc:"server port" default:"5432"`
	Host      string `yaml:"host" aliases:"login_host" doc:"socket directory or host name (default: the local socket)"`
	Socket    string `yaml:"login_unix_socket" doc:"the socket directory, used when the host is empty or localhost (as community.postgresql does)"`
	OSUser    string `yaml:"os_user" doc:"OS user psql runs as (peer authentication on the socket)" default:"postgres"`
	LoginRole string `yaml:"login_role" aliases:"login_user" doc:"database role to log in as (default: the OS user's name)"`
	// TrustInput is community.postgresql's check against SQL in names:
	// runbook passes every name and value as a psql variable instead.
	TrustInput *bool `yaml:"trust_input" doc:"accepted for community.postgresql playbooks: names and values always reach SQL as psql variables"`
}

func (c PgConn) withDefaults() PgConn {
	if c.DB == "" {
		c.DB = "postgres"
	}
	if c.Port == 0 {
		c.Port = 5432
	}
	if c.OSUser == "" {
		c.OSUser = "postgres"
	}
	return c
}

// AsUser wraps a script so it runs as the OS user: directly when already
// that user, with runuser when root, else sudo -n. cd / first so tools do
// not complain about an unreadable working directory.
func AsUser(user, script string) string { return hostexec.AsUser(user, script) }

// host is what psql's -h gets: the socket directory when one is given and
// the host is empty or localhost (community.postgresql's rule), else the host.
func (c PgConn) host() string {
	if c.Socket != "" && (c.Host == "" || c.Host == "localhost") {
		return c.Socket
	}
	return c.Host
}

// psqlArgs builds the psql command line (pure, table-tested).
func (c PgConn) psqlArgs() []string {
	c = c.withDefaults()
	args := []string{"psql", "-X", "-q", "--csv", "-v", "ON_ERROR_STOP=1", "-d", c.DB, "-p", fmt.Sprint(c.Port)}
	if host := c.host(); host != "" {
		args = append(args, "-h", host)
	}
	if c.LoginRole != "" {
		args = append(args, "-U", c.LoginRole)
	}
	return args
}

// FindPsql sets $psql, in shell, to the newest /usr/lib/postgresql/N/bin/psql,
// else the psql on PATH. On Debian and Ubuntu /usr/bin/psql is pg_wrapper,
// a Perl script: about 3 s of a guest's CPU per call under emulation, which
// made every check slow and, called each second by the self-fence, kept
// the lab's nodes busy. Its only job that matters here is choosing a
// cluster's port, and every call names the port. Pure sh, no fork.
const FindPsql = `psql=psql; best=-1; for p in /usr/lib/postgresql/*/bin/psql; do v=${p#/usr/lib/postgresql/}; v=${v%%/*}; case $v in ''|*[!0-9]*) continue;; esac; if [ -x "$p" ] && [ "$v" -gt "$best" ]; then best=$v; psql=$p; fi; done`

// PsqlLine is a shell line that runs psql (FindPsql's) with these arguments.
func PsqlLine(args ...string) string {
	return FindPsql + "; exec \"$psql\" " + modules.Join(args...)
}

// PgRows is a query result: column names and rows as maps.
type PgRows struct {
	Columns []string
	Rows    []map[string]string
}

// Values returns the first column of each row.
func (r *PgRows) Values() []string {
	out := make([]string, len(r.Rows))
	for i, row := range r.Rows {
		out[i] = row[r.Columns[0]]
	}
	return out
}

// One returns the first row's first column, or "".
func (r *PgRows) One() string {
	if len(r.Rows) == 0 || len(r.Columns) == 0 {
		return ""
	}
	return r.Rows[0][r.Columns[0]]
}

var paramName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// PsqlScript is what psql reads on stdin: each parameter as a psql variable
// (\set, quoted for psql's meta-command parser), then the SQL, which refers
// to them as :'name' (a literal) or :"name" (an identifier). psql quotes the
// values with libpq, so no value is ever spliced into SQL text, and nothing
// secret appears in process arguments.
func PsqlScript(sql string, params map[string]string) (string, error) {
	var b strings.Builder
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !paramName.MatchString(k) {
			return "", fmt.Errorf("parameter name %q: use letters, digits and _", k)
		}
		v := strings.NewReplacer(`\`, `\\`, `'`, `''`, "\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(params[k])
		fmt.Fprintf(&b, "\\set %s '%s'\n", k, v)
	}
	b.WriteString(sql)
	if !strings.HasSuffix(strings.TrimSpace(sql), ";") {
		b.WriteString(";")
	}
	b.WriteString("\n")
	return b.String(), nil
}

// PgError is an error reported by psql or the server.
type PgError struct{ Msg string }

func (e *PgError) Error() string { return e.Msg }

// Query runs SQL with parameters and returns the last statement's rows.
// Parameters may hold secrets (a password, a conninfo), so psql's stdin is
// marked secret whenever there are any.
func Query(ctx context.Context, h modules.Host, c PgConn, sql string, params map[string]string) (*PgRows, error) {
	return query(ctx, h, c, sql, params, len(params) > 0)
}

// QueryNames is Query for parameters that only name things (roles,
// databases, schemas, settings, privileges): its stdin is not secret, so
// it can go through the host's persistent shell rather than a session of
// its own (the cost of a session shows under emulation).
func QueryNames(ctx context.Context, h modules.Host, c PgConn, sql string, names map[string]string) (*PgRows, error) {
	return query(ctx, h, c, sql, names, false)
}

func query(ctx context.Context, h modules.Host, c PgConn, sql string, params map[string]string, secret bool) (*PgRows, error) {
	c = c.withDefaults()
	in, err := PsqlScript(sql, params)
	if err != nil {
		return nil, err
	}
	r, err := h.Run(ctx, modules.Cmd{Script: AsUser(c.OSUser, PsqlLine(c.psqlArgs()[1:]...)), Stdin: []byte(in), Secret: secret})
	if err != nil {
		return nil, err
	}
	if r.RC != 0 {
		msg := strings.TrimSpace(r.Stderr)
		if msg == "" {
			msg = fmt.Sprintf("psql exited %d", r.RC)
		}
		return nil, &PgError{Msg: strings.ReplaceAll(msg, "psql:<stdin>:", "line ")}
	}
	return parseCSV(r.Stdout)
}

// parseCSV reads psql's --csv output; with several statements only the
// last result set counts (each starts with a header line).
func parseCSV(out string) (*PgRows, error) {
	res := &PgRows{}
	if strings.TrimSpace(out) == "" {
		return res, nil
	}
	rd := csv.NewReader(strings.NewReader(out))
	rd.FieldsPerRecord = -1
	recs, err := rd.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("reading psql output: %w", err)
	}
	// find the last header: a record whose column count changes or the first
	start := 0
	for i := 1; i < len(recs); i++ {
		if len(recs[i]) != len(recs[i-1]) {
			start = i
		}
	}
	res.Columns = recs[start]
	for _, rec := range recs[start+1:] {
		row := map[string]string{}
		for i, col := range res.Columns {
			if i < len(rec) {
				row[col] = rec[i]
			}
		}
		res.Rows = append(res.Rows, row)
	}
	return res, nil
}

// rowsData turns rows into register data.
func rowsData(r *PgRows) map[string]any {
	rows := make([]any, len(r.Rows))
	for i, row := range r.Rows {
		m := map[string]any{}
		for k, v := range row {
			m[k] = v
		}
		rows[i] = m
	}
	cols := make([]any, len(r.Columns))
	for i, c := range r.Columns {
		cols[i] = c
	}
	return map[string]any{"rows": rows, "rowcount": len(rows), "columns": cols}
}

package pg

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// PostgresqlQuery runs one SQL statement and returns its rows.
type PostgresqlQuery struct {
	PgConn `yaml:",inline"`
	Query  string            `yaml:"query" doc:"the SQL; refer to params as :'name' (literal) or :\"name\" (identifier)"`
	Params map[string]string `yaml:"params" doc:"named parameters, passed to psql as variables (never spliced into the SQL)"`
}

func init() {
	modules.Register(modules.Info{ID: "postgresql_query", Summary: "Run SQL as a role (default: the postgres OS user over the local socket) with safe parameters; rows for register.",
		Example: "postgresql_query:\n  query: SELECT application_name, sync_state FROM pg_stat_replication WHERE application_name = :'app'\n  params: {app: postgres2}\nregister: repl",
		New:     func() modules.Module { return &PostgresqlQuery{} }})
}

// Validate needs a query.
func (q *PostgresqlQuery) Validate() error {
	if strings.TrimSpace(q.Query) == "" {
		return errors.New("postgresql_query: query is required")
	}
	return nil
}

var readOnlySQL = regexp.MustCompile(`(?is)^\s*(select|show|with\s+[^;]*\bselect|values|table|explain)\b`)

// Run runs the query. Statements other than SELECT/SHOW report changed
// (override with changed_when); in check mode they are not run.
func (q *PostgresqlQuery) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	ro := readOnlySQL.MatchString(q.Query)
	if env.Check && !ro {
		return &modules.Result{Skipped: true, Msg: "statement not run in check mode"}, nil
	}
	rows, err := Query(ctx, env.Host, q.PgConn, q.Query, q.Params)
	if err != nil {
		var pe *PgError
		if errors.As(err, &pe) {
			return modules.Failf("%s", pe.Msg), nil
		}
		return nil, err
	}
	return &modules.Result{Changed: !ro, Data: rowsData(rows)}, nil
}

var _ modules.Validator = (*PostgresqlQuery)(nil)

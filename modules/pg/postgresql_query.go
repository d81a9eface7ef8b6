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
	if readOnlySQL.MatchString(q.Query) {
		return q.run(ctx, env, false) // a read runs in check mode too: its rows are what the task is for
	}
	return modules.Act(func(ctx context.Context) (*modules.Result, error) { return q.run(ctx, env, true) }), nil
}

// run sends the statement and returns its rows.
func (q *PostgresqlQuery) run(ctx context.Context, env *modules.Env, changes bool) (*modules.Result, error) {
	rows, err := Query(ctx, env.Host, q.PgConn, q.Query, q.Params)
	if err != nil {
		var pe *PgError
		if errors.As(err, &pe) {
			return modules.Failf("%s", pe.Msg), nil
		}
		return nil, err
	}
	return &modules.Result{Changed: changes, Data: rowsData(rows)}, nil
}

var _ modules.Validator = (*PostgresqlQuery)(nil)

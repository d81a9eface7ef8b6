package pg

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// PostgresqlPrivs grants or revokes privileges on tables, sequences,
// functions, schemas and databases (community.postgresql's
// postgresql_privs). As that module does, it runs the GRANT or REVOKE in a
// transaction and compares the objects' ACLs before and after: changed is
// what the server says, and check mode rolls back.
type PostgresqlPrivs struct {
	PgConn      `yaml:",inline"`
	Database    string             `yaml:"database" aliases:"db,login_db" doc:"the database the objects are in"`
	State       string             `yaml:"state" doc:"present (GRANT) or absent (REVOKE)" default:"present"`
	Privs       modules.StringList `yaml:"privs" aliases:"priv" doc:"privileges, comma-separated (SELECT,INSERT or ALL); for type group none"`
	Type        string             `yaml:"type" doc:"table, sequence, function, procedure, schema or database" default:"table"`
	Objs        modules.StringList `yaml:"objs" aliases:"obj" doc:"the objects, comma-separated; ALL_IN_SCHEMA for every table, sequence or function of schema"`
	Schema      string             `yaml:"schema" doc:"the objects' schema (table, sequence, function)" default:"public"`
	Roles       modules.StringList `yaml:"roles" aliases:"role" doc:"the roles, comma-separated (PUBLIC for everyone)"`
	GrantOption *bool              `yaml:"grant_option" aliases:"admin_option" doc:"WITH GRANT OPTION (present), or revoke only the grant option (absent)"`
	FailOnRole  *bool              `yaml:"fail_on_role" doc:"fail when a role does not exist (false: skip it with a warning)" default:"true"`
	SessionRole string             `yaml:"session_role" doc:"SET ROLE to this role first"`
}

func init() {
	modules.Register(modules.Info{ID: "postgresql_privs", Summary: "Grant or revoke privileges on tables, sequences, functions, schemas or databases; changed as the server's ACLs say.",
		Example: "postgresql_privs:\n  db: shop\n  privs: SELECT,INSERT\n  objs: ALL_IN_SCHEMA\n  roles: client1", New: func() modules.Module { return &PostgresqlPrivs{} }})
}

// privWords are the privileges each object type takes (inlined into SQL
// only after this check; names travel as psql variables).
var privWords = map[string][]string{
	"table":    {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "ALL"},
	"sequence": {"USAGE", "SELECT", "UPDATE", "ALL"},
	"function": {"EXECUTE", "ALL"}, "procedure": {"EXECUTE", "ALL"},
	"schema":   {"USAGE", "CREATE", "ALL"},
	"database": {"CONNECT", "CREATE", "TEMPORARY", "TEMP", "ALL"},
}

// Validate checks the arguments.
func (p *PostgresqlPrivs) Validate() error {
	if len(p.Roles.Items()) == 0 {
		return errors.New("postgresql_privs: roles is required")
	}
	words, ok := privWords[p.Type]
	if !ok {
		return fmt.Errorf("postgresql_privs: type %q: runbook handles table, sequence, function, procedure, schema and database", p.Type)
	}
	if p.State != "present" && p.State != "absent" {
		return fmt.Errorf("postgresql_privs: state must be present or absent, got %q", p.State)
	}
	if len(p.Privs.Items()) == 0 {
		return errors.New("postgresql_privs: privs is required")
	}
	for _, w := range p.Privs.Items() {
		w = strings.ToUpper(strings.TrimSuffix(strings.ToUpper(w), " PRIVILEGES"))
		found := false
		for _, x := range words {
			found = found || x == w
		}
		if !found {
			return fmt.Errorf("postgresql_privs: %q is not a privilege on a %s (%s)", w, p.Type, strings.Join(words, ", "))
		}
	}
	if p.Type != "database" && len(p.Objs.Items()) == 0 {
		return fmt.Errorf("postgresql_privs: objs is required for type %s", p.Type)
	}
	return nil
}

// sql builds the transaction: the ACLs before, the statements, whether
// they differ after; committed unless check. Names are psql variables.
func (p *PostgresqlPrivs) sql(roles []string, check bool) (string, map[string]string) {
	params := map[string]string{"schema": p.Schema}
	var privs []string
	for _, w := range p.Privs.Items() {
		privs = append(privs, strings.ToUpper(strings.TrimSuffix(strings.ToUpper(w), " PRIVILEGES")))
	}
	var grantees []string
	for i, r := range roles {
		if strings.EqualFold(r, "PUBLIC") {
			grantees = append(grantees, "PUBLIC")
			continue
		}
		params[fmt.Sprintf("r%d", i)] = r
		grantees = append(grantees, fmt.Sprintf(`:"r%d"`, i))
	}
	objs := p.Objs.Items()
	if p.Type == "database" && len(objs) == 0 {
		objs = []string{p.Database}
	}
	var targets, acls []string
	kind := map[string]string{"table": "TABLE", "sequence": "SEQUENCE", "function": "FUNCTION", "procedure": "PROCEDURE", "schema": "SCHEMA", "database": "DATABASE"}[p.Type]
	relkinds := map[string]string{"table": "'r','v','m','p','f'", "sequence": "'S'"}[p.Type]
	for i, o := range objs {
		v := fmt.Sprintf("o%d", i)
		params[v] = o
		switch {
		case o == "ALL_IN_SCHEMA" && (p.Type == "table" || p.Type == "sequence"):
			targets = append(targets, "ALL "+kind+`S IN SCHEMA :"schema"`)
			acls = append(acls, `(SELECT string_agg(c.relname || coalesce(c.relacl::text, ''), ';' ORDER BY c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :'schema' AND c.relkind IN (`+relkinds+`))`)
		case o == "ALL_IN_SCHEMA":
			targets = append(targets, "ALL "+kind+`S IN SCHEMA :"schema"`)
			acls = append(acls, `(SELECT string_agg(f.oid::regprocedure::text || coalesce(f.proacl::text, ''), ';' ORDER BY f.oid) FROM pg_proc f JOIN pg_namespace n ON n.oid = f.pronamespace WHERE n.nspname = :'schema')`)
		case p.Type == "table" || p.Type == "sequence":
			targets = append(targets, kind+` :"schema".:"`+v+`"`)
			acls = append(acls, `(SELECT coalesce(c.relacl::text, '') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :'schema' AND c.relname = :'`+v+`')`)
		case p.Type == "function" || p.Type == "procedure":
			// name(argtypes): the signature is resolved by the server, never pasted into SQL
			params[v] = p.Schema + "." + o
			targets = append(targets, kind+" "+`:"`+v+`"`)
			acls = append(acls, `(SELECT coalesce(proacl::text, '') FROM pg_proc WHERE oid = to_regprocedure(:'`+v+`'))`)
		case p.Type == "schema":
			targets = append(targets, `SCHEMA :"`+v+`"`)
			acls = append(acls, `(SELECT coalesce(nspacl::text, '') FROM pg_namespace WHERE nspname = :'`+v+`')`)
		default:
			targets = append(targets, `DATABASE :"`+v+`"`)
			acls = append(acls, `(SELECT coalesce(datacl::text, '') FROM pg_database WHERE datname = :'`+v+`')`)
		}
	}
	acl := "concat_ws('|', " + strings.Join(acls, ", ") + ")"
	var b strings.Builder
	b.WriteString("BEGIN;\n")
	if p.SessionRole != "" {
		params["session_role"] = p.SessionRole
		b.WriteString("SET ROLE :\"session_role\";\n")
	}
	fmt.Fprintf(&b, "SELECT %s AS before \\gset\n", acl)
	grantOpt := p.GrantOption != nil && *p.GrantOption
	for _, t := range targets {
		if p.State == "present" {
			fmt.Fprintf(&b, "GRANT %s ON %s TO %s", strings.Join(privs, ", "), t, strings.Join(grantees, ", "))
			if grantOpt {
				b.WriteString(" WITH GRANT OPTION")
			}
		} else {
			b.WriteString("REVOKE ")
			if p.GrantOption != nil && *p.GrantOption {
				b.WriteString("GRANT OPTION FOR ")
			}
			fmt.Fprintf(&b, "%s ON %s FROM %s", strings.Join(privs, ", "), t, strings.Join(grantees, ", "))
		}
		b.WriteString(";\n")
	}
	fmt.Fprintf(&b, "SELECT (%s) IS DISTINCT FROM :'before' AS changed;\n", acl)
	if check {
		b.WriteString("ROLLBACK;\n")
	} else {
		b.WriteString("COMMIT;\n")
	}
	return b.String(), params
}

// Run grants or revokes and reports whether the ACLs changed.
func (p *PostgresqlPrivs) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	conn := p.PgConn
	if p.Database != "" {
		conn.DB = p.Database
	}
	roles := p.Roles.Items()
	if p.FailOnRole != nil && !*p.FailOnRole {
		var kept []string
		for _, r := range roles {
			if strings.EqualFold(r, "PUBLIC") {
				kept = append(kept, r)
				continue
			}
			rows, err := QueryNames(ctx, env.Host, conn, `SELECT count(*) FROM pg_roles WHERE rolname = :'r'`, map[string]string{"r": r})
			if err != nil {
				return modules.Failf("postgresql_privs: %v", err), nil
			}
			if rows.One() == "0" {
				if env.Warn != nil {
					env.Warn("postgresql_privs: role %s does not exist: skipped (fail_on_role: false)", r)
				}
				continue
			}
			kept = append(kept, r)
		}
		if roles = kept; len(roles) == 0 {
			return &modules.Result{Msg: "no role to grant to exists"}, nil
		}
	}
	// the plan: the statements in a transaction rolled back, comparing
	// the objects' ACLs before and after; applying them commits
	sql, params := p.sql(roles, true)
	rows, err := QueryNames(ctx, env.Host, conn, sql, params)
	if err != nil {
		return modules.Failf("postgresql_privs: %v", err), nil
	}
	res := &modules.Result{Changed: rows.One() == "t", Data: map[string]any{"queries": []string{}}}
	if res.Changed {
		res.Then(func(ctx context.Context) error {
			sql, params := p.sql(roles, false)
			if _, err := QueryNames(ctx, env.Host, conn, sql, params); err != nil {
				*res = *modules.Failf("postgresql_privs: %v", err)
			}
			return nil
		})
	}
	return res, nil
}

var _ modules.Validator = (*PostgresqlPrivs)(nil)

package pg

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// PostgresqlDB is community.postgresql's postgresql_db: a database created
// with its owner, template, encoding and locale, its owner, connection
// limit and tablespace kept as asked, or dropped. Every name reaches SQL
// as a psql variable (:"name"), never spliced into the text.
type PostgresqlDB struct {
	Name          string `yaml:"name" aliases:"db,datname" doc:"the database"`
	State         string `yaml:"state" default:"present" doc:"present or absent (dump, restore and rename are not in runbook)"`
	Owner         string `yaml:"owner" doc:"its owner"`
	Template      string `yaml:"template" doc:"the template to create it from"`
	Encoding      string `yaml:"encoding" doc:"encoding, e.g. UTF8 (only when created)"`
	LCCollate     string `yaml:"lc_collate" doc:"collation (only when created)"`
	LCCtype       string `yaml:"lc_ctype" doc:"character classification (only when created)"`
	Tablespace    string `yaml:"tablespace" doc:"default tablespace"`
	ConnLimit     string `yaml:"conn_limit" doc:"connection limit (-1: none)"`
	Force         bool   `yaml:"force" doc:"with state absent: end its sessions first (DROP ... WITH (FORCE))"`
	MaintenanceDB string `yaml:"maintenance_db" default:"postgres" doc:"the database to connect to"`
	Port          int    `yaml:"port" aliases:"login_port" default:"5432" doc:"server port"`
	Host          string `yaml:"login_host" doc:"socket directory or host name (default: the local socket)"`
	Socket        string `yaml:"login_unix_socket" doc:"the socket directory, used when login_host is empty or localhost"`
	OSUser        string `yaml:"os_user" default:"postgres" doc:"OS user psql runs as (peer authentication on the socket)"`
	LoginRole     string `yaml:"login_user" doc:"database role to log in as"`
	TrustInput    *bool  `yaml:"trust_input" doc:"accepted for community.postgresql playbooks: names always reach SQL as psql variables"`
}

func init() {
	modules.Register(modules.Info{ID: "postgresql_db", Summary: "Create (owner, template, encoding, locale, tablespace, connection limit) or drop a database",
		Example: "postgresql_db:\n  name: shop\n  owner: client1\n  encoding: UTF8\n  template: template0", New: func() modules.Module { return &PostgresqlDB{} }})
}

// Validate checks the arguments.
func (d *PostgresqlDB) Validate() error {
	if d.Name == "" {
		return errors.New("postgresql_db: name is required")
	}
	switch d.State {
	case "present", "absent":
	case "dump", "restore", "rename":
		return fmt.Errorf("postgresql_db: state %s is not in runbook (use command with pg_dump or pg_restore)", d.State)
	default:
		return fmt.Errorf("postgresql_db: state %q: expected present or absent", d.State)
	}
	if d.ConnLimit != "" {
		if _, err := strconv.Atoi(d.ConnLimit); err != nil {
			return fmt.Errorf("postgresql_db: conn_limit %q is not a number", d.ConnLimit)
		}
	}
	return nil
}

func (d *PostgresqlDB) conn() PgConn {
	return PgConn{DB: d.MaintenanceDB, Port: d.Port, Host: d.Host, Socket: d.Socket, OSUser: d.OSUser, LoginRole: d.LoginRole}
}

const dbQuery = `SELECT d.datname, pg_get_userbyid(d.datdba) AS owner, pg_encoding_to_char(d.encoding) AS encoding,
  d.datcollate AS collate, d.datctype AS ctype, d.datconnlimit::text AS conn_limit, t.spcname AS tablespace
FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace WHERE d.datname = :'name'`

// Run brings the database to the wanted state.
func (d *PostgresqlDB) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	p := map[string]string{"name": d.Name, "owner": d.Owner, "template": d.Template, "encoding": d.Encoding,
		"collate": d.LCCollate, "ctype": d.LCCtype, "tablespace": d.Tablespace}
	rows, err := QueryNames(ctx, env.Host, d.conn(), dbQuery, p)
	if err != nil {
		return nil, err
	}
	res := &modules.Result{Data: map[string]any{"db": d.Name}}
	var stmts []string
	if d.State == "absent" {
		if len(rows.Rows) > 0 {
			force := ""
			if d.Force {
				force = " WITH (FORCE)"
			}
			stmts = append(stmts, `DROP DATABASE :"name"`+force)
		}
	} else if len(rows.Rows) == 0 {
		create := `CREATE DATABASE :"name"`
		for _, o := range []struct{ val, clause string }{{d.Owner, ` OWNER :"owner"`}, {d.Template, ` TEMPLATE :"template"`},
			{d.Encoding, ` ENCODING :'encoding'`}, {d.LCCollate, ` LC_COLLATE :'collate'`}, {d.LCCtype, ` LC_CTYPE :'ctype'`},
			{d.Tablespace, ` TABLESPACE :"tablespace"`}, {d.ConnLimit, " CONNECTION LIMIT " + d.ConnLimit}} {
			if o.val != "" {
				create += o.clause
			}
		}
		stmts = append(stmts, create)
	} else {
		cur := rows.Rows[0]
		for _, c := range []struct{ want, have, what string }{{d.Encoding, cur["encoding"], "encoding"},
			{d.LCCollate, cur["collate"], "lc_collate"}, {d.LCCtype, cur["ctype"], "lc_ctype"}} {
			if c.want != "" && !strings.EqualFold(strings.ReplaceAll(c.want, "-", ""), strings.ReplaceAll(c.have, "-", "")) {
				return modules.Failf("database %s exists with %s %s, not %s: it cannot be changed (dump and restore it)", d.Name, c.what, c.have, c.want), nil
			}
		}
		if d.Owner != "" && d.Owner != cur["owner"] {
			stmts = append(stmts, `ALTER DATABASE :"name" OWNER TO :"owner"`)
		}
		if d.ConnLimit != "" && d.ConnLimit != cur["conn_limit"] {
			stmts = append(stmts, `ALTER DATABASE :"name" CONNECTION LIMIT `+d.ConnLimit)
		}
		if d.Tablespace != "" && d.Tablespace != cur["tablespace"] {
			stmts = append(stmts, `ALTER DATABASE :"name" SET TABLESPACE :"tablespace"`)
		}
	}
	if len(stmts) == 0 {
		return res, nil
	}
	res.Changed = true
	res.Data["executed_commands"] = modules.AnyList(stmts)
	res.Msg = strings.Join(stmts, "; ")
	res.Then(func(ctx context.Context) error {
		for _, s := range stmts {
			if _, err := QueryNames(ctx, env.Host, d.conn(), s, p); err != nil {
				return err
			}
		}
		return nil
	})
	return res, nil
}

var _ modules.Validator = (*PostgresqlDB)(nil)

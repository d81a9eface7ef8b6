package pg

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// PostgresqlUser manages a role: attributes, password and grants.
type PostgresqlUser struct {
	PgConn      `yaml:",inline"`
	Name        string              `yaml:"name" aliases:"user" doc:"role name"`
	Password    string              `yaml:"password" doc:"password (hashed here, then sent as the hash: never in logs or arguments)"`
	Encryption  string              `yaml:"encryption" doc:"scram-sha-256 or md5 (default: the server's password_encryption)"`
	Login       *bool               `yaml:"login" doc:"LOGIN" default:"true"`
	Replication *bool               `yaml:"replication" doc:"REPLICATION"`
	Superuser   *bool               `yaml:"superuser" doc:"SUPERUSER"`
	CreateDB    *bool               `yaml:"createdb" doc:"CREATEDB"`
	CreateRole  *bool               `yaml:"createrole" doc:"CREATEROLE"`
	State       string              `yaml:"state" doc:"present or absent" default:"present"`
	DBPrivs     modules.StringList  `yaml:"db_privileges" doc:"privileges on the database in db (CONNECT, CREATE, TEMPORARY)"`
	SchemaPrivs map[string][]string `yaml:"schema_privileges" doc:"schema: [USAGE, CREATE] in db"`
	Expires     string              `yaml:"expires" doc:"VALID UNTIL: when the password stops working ('infinity': never)"`
}

func init() {
	modules.Register(modules.Info{ID: "postgresql_user", Summary: "Create or drop a role with attributes, a hashed password (scram-sha-256 or md5) and grants on databases and schemas.",
		Example: "postgresql_user:\n  name: client1\n  password: \"{{ .client1_password }}\"\n  db: shop\n  db_privileges: [CONNECT]\n  schema_privileges: {public: [USAGE, CREATE]}\nno_log: true",
		New:     func() modules.Module { return &PostgresqlUser{State: "present"} }})
}

// Validate checks the arguments.
func (u *PostgresqlUser) Validate() error {
	if u.Name == "" {
		return errors.New("postgresql_user: name is required")
	}
	if u.State != "present" && u.State != "absent" {
		return fmt.Errorf("postgresql_user: state must be present or absent, got %q", u.State)
	}
	if u.Encryption != "" && u.Encryption != "md5" && u.Encryption != "scram-sha-256" {
		return fmt.Errorf("postgresql_user: encryption must be md5 or scram-sha-256, got %q", u.Encryption)
	}
	for _, p := range u.DBPrivs {
		switch strings.ToUpper(p) {
		case "CONNECT", "CREATE", "TEMPORARY", "TEMP", "ALL":
		default:
			return fmt.Errorf("postgresql_user: unknown database privilege %q", p)
		}
	}
	for s, ps := range u.SchemaPrivs {
		for _, p := range ps {
			switch strings.ToUpper(p) {
			case "USAGE", "CREATE", "ALL":
			default:
				return fmt.Errorf("postgresql_user: unknown privilege %q on schema %s", p, s)
			}
		}
	}
	return nil
}

const roleQuery = `SELECT r.rolname, r.rolcanlogin, r.rolreplication, r.rolsuper, r.rolcreatedb, r.rolcreaterole,
  coalesce(a.rolpassword, '') AS pw, current_setting('password_encryption') AS enc,
  coalesce(r.rolvaliduntil = nullif(:'expires', '')::timestamptz, :'expires' = '') AS expires_ok
FROM pg_roles r JOIN pg_authid a ON a.oid = r.oid WHERE r.rolname = :'name'
UNION ALL SELECT '', false, false, false, false, false, '', current_setting('password_encryption'), false WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'name')`

// Run brings the role to the wanted state.
func (u *PostgresqlUser) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	p := map[string]string{"name": u.Name, "expires": u.Expires}
	rows, err := QueryNames(ctx, env.Host, u.PgConn, roleQuery, p)
	if err != nil {
		return nil, err
	}
	if len(rows.Rows) != 1 {
		return nil, fmt.Errorf("postgresql_user: the role query returned %d rows, want 1", len(rows.Rows))
	}
	row := rows.Rows[0]
	exists := row["rolname"] != ""
	var stmts, changes []string
	if u.State == "absent" {
		if exists {
			stmts = append(stmts, `DROP ROLE :"name"`)
			changes = append(changes, "drop role "+u.Name)
		}
		return u.apply(ctx, env, stmts, changes, p)
	}
	attrs := []struct {
		want *bool
		col  string
		kw   string
	}{{u.Login, "rolcanlogin", "LOGIN"}, {u.Replication, "rolreplication", "REPLICATION"}, {u.Superuser, "rolsuper", "SUPERUSER"},
		{u.CreateDB, "rolcreatedb", "CREATEDB"}, {u.CreateRole, "rolcreaterole", "CREATEROLE"}}
	login := true
	if u.Login == nil {
		attrs[0].want = &login
	}
	var kws []string
	for _, a := range attrs {
		if a.want == nil {
			continue
		}
		have := row[a.col] == "t"
		if !exists || have != *a.want {
			kw := a.kw
			if !*a.want {
				kw = "NO" + kw
			}
			kws = append(kws, kw)
		}
	}
	if !exists {
		stmts = append(stmts, `CREATE ROLE :"name" `+strings.Join(kws, " "))
		changes = append(changes, "create role "+u.Name+" "+strings.Join(kws, " "))
	} else if len(kws) > 0 {
		stmts = append(stmts, `ALTER ROLE :"name" `+strings.Join(kws, " "))
		changes = append(changes, "alter role "+u.Name+" "+strings.Join(kws, " "))
	}
	if u.Expires != "" && row["expires_ok"] != "t" {
		stmts = append(stmts, `ALTER ROLE :"name" VALID UNTIL :'expires'`)
		changes = append(changes, "role "+u.Name+" valid until "+u.Expires)
	}
	if u.Password != "" {
		enc := u.Encryption
		if enc == "" {
			enc = row["enc"]
		}
		if !PasswordMatches(row["pw"], u.Name, u.Password) || !strings.HasPrefix(strings.ToLower(row["pw"]), map[string]string{"md5": "md5", "scram-sha-256": "scram"}[enc]) {
			hash, err := HashPassword(enc, u.Name, u.Password)
			if err != nil {
				return nil, err
			}
			p["hash"] = hash
			stmts = append(stmts, `ALTER ROLE :"name" PASSWORD :'hash'`)
			changes = append(changes, "set the password of "+u.Name+" ("+enc+")")
		}
	}
	grants, err := u.missingGrants(ctx, env, exists)
	if err != nil {
		return nil, err
	}
	for _, g := range grants {
		stmts = append(stmts, g)
		changes = append(changes, strings.ReplaceAll(g, `:"name"`, u.Name))
	}
	return u.apply(ctx, env, stmts, changes, p)
}

// missingGrants are the GRANTs the role lacks, checked in one query (each
// psql start costs, and more under emulation).
func (u *PostgresqlUser) missingGrants(ctx context.Context, env *modules.Env, exists bool) ([]string, error) {
	type want struct{ grant, check string }
	var wants []want
	p := map[string]string{"name": u.Name}
	db := u.PgConn.withDefaults().DB
	p["db"] = db
	for i, priv := range u.DBPrivs {
		priv = strings.ToUpper(priv)
		k := fmt.Sprintf("dp%d", i)
		p[k] = priv
		w := want{grant: fmt.Sprintf(`GRANT %s ON DATABASE %s TO :"name"`, priv, quoteIdent(db))}
		if priv != "ALL" { // ALL is granted again: it cannot be asked as one privilege
			w.check = fmt.Sprintf("has_database_privilege(:'name', :'db', :'%s')", k)
		}
		wants = append(wants, w)
	}
	schemas := make([]string, 0, len(u.SchemaPrivs))
	for schema := range u.SchemaPrivs {
		schemas = append(schemas, schema)
	}
	sort.Strings(schemas)
	for si, schema := range schemas {
		sk := fmt.Sprintf("s%d", si)
		p[sk] = schema
		for i, priv := range u.SchemaPrivs[schema] {
			priv = strings.ToUpper(priv)
			k := fmt.Sprintf("s%dp%d", si, i)
			p[k] = priv
			w := want{grant: fmt.Sprintf(`GRANT %s ON SCHEMA %s TO :"name"`, priv, quoteIdent(schema))}
			if priv != "ALL" {
				w.check = fmt.Sprintf("has_schema_privilege(:'name', :'%s', :'%s')", sk, k)
			}
			wants = append(wants, w)
		}
	}
	var checks []string
	for i, w := range wants {
		if exists && w.check != "" {
			checks = append(checks, fmt.Sprintf("%s AS g%d", w.check, i))
		}
	}
	row := map[string]string{}
	if len(checks) > 0 {
		r, err := QueryNames(ctx, env.Host, u.PgConn, "SELECT "+strings.Join(checks, ", "), p)
		if err != nil {
			return nil, err
		}
		if len(r.Rows) == 1 {
			row = r.Rows[0]
		}
	}
	var out []string
	for i, w := range wants {
		if row[fmt.Sprintf("g%d", i)] != "t" {
			out = append(out, w.grant)
		}
	}
	return out, nil
}

func (u *PostgresqlUser) apply(ctx context.Context, env *modules.Env, stmts, changes []string, p map[string]string) (*modules.Result, error) {
	res := &modules.Result{Data: map[string]any{"role": u.Name}}
	if len(stmts) == 0 {
		return res, nil
	}
	res.Changed = true
	res.Msg = strings.Join(changes, "; ")
	res.Then(func(ctx context.Context) error {
		// synchronous_commit = local: a role change must not hang when the
		// synchronous standby is not there yet (or is down).
		sql := "SET synchronous_commit = local;\n" + strings.Join(stmts, ";\n")
		if _, err := Query(ctx, env.Host, u.PgConn, sql, p); err != nil {
			return err
		}
		return nil
	})
	return res, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// HashPassword computes what PostgreSQL stores for a password, so only the
// hash travels: "md5" + md5(password + user), or a SCRAM-SHA-256 verifier.
func HashPassword(method, user, password string) (string, error) {
	switch method {
	case "md5":
		sum := md5.Sum([]byte(password + user))
		return "md5" + hex.EncodeToString(sum[:]), nil
	case "scram-sha-256", "":
		salt := make([]byte, 16)
		if _, err := rand.Read(salt); err != nil {
			return "", err
		}
		return scramVerifier(password, salt, 4096)
	}
	return "", fmt.Errorf("unknown password encryption %q", method)
}

func scramVerifier(password string, salt []byte, iter int) (string, error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iter, 32)
	if err != nil {
		return "", err
	}
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	server := mac(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iter, b64(salt), b64(stored[:]), b64(server)), nil
}

// PasswordMatches says whether a stored hash is of this password.
func PasswordMatches(stored, user, password string) bool {
	switch {
	case strings.HasPrefix(stored, "md5"):
		h, _ := HashPassword("md5", user, password)
		return h == stored
	case strings.HasPrefix(stored, "SCRAM-SHA-256$"):
		rest := strings.TrimPrefix(stored, "SCRAM-SHA-256$")
		iterSalt, _, ok := strings.Cut(rest, "$")
		if !ok {
			return false
		}
		iterS, saltS, _ := strings.Cut(iterSalt, ":")
		iter, err := strconv.Atoi(iterS)
		salt, err2 := base64.StdEncoding.DecodeString(saltS)
		if err != nil || err2 != nil {
			return false
		}
		v, err := scramVerifier(password, salt, iter)
		return err == nil && v == stored
	}
	return false
}

var _ modules.Validator = (*PostgresqlUser)(nil)

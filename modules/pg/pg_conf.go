package pg

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/runbook-lab/runbook/internal/diag"
	"github.com/runbook-lab/runbook/modules"
)

// PgConf sets server parameters with ALTER SYSTEM. Why ALTER SYSTEM and not
// an include file: the server validates every value before writing it, it
// works with any layout (Debian's /etc/postgresql or a plain data
// directory), and postgresql.auto.conf is where pg_basebackup -R writes
// primary_conninfo anyway, so there is one place that wins, not two that
// fight (the notes' application_name trap).
type PgConf struct {
	PgConn   `yaml:",inline"`
	Settings map[string]string  `yaml:"settings" doc:"parameter: value (values as PostgreSQL writes them, e.g. '64MB')"`
	Reset    modules.StringList `yaml:"reset" doc:"parameters to remove from postgresql.auto.conf (ALTER SYSTEM RESET)"`
	Reload   *bool              `yaml:"reload" doc:"reload the configuration after a change" default:"true"`
}

func init() {
	modules.Register(modules.Info{ID: "pg_conf", Summary: "Set PostgreSQL parameters idempotently (ALTER SYSTEM); reports restart_required from pending_restart, warns when a value is overridden.",
		Example: "pg_conf:\n  settings:\n    wal_level: replica\n    synchronous_standby_names: 'ANY 1 (postgres2, postgres3)'\nregister: conf\nnotify: restart postgresql",
		New:     func() modules.Module { return &PgConf{} }})
}

var pgParam = regexp.MustCompile(`^[a-z_][a-z0-9_.]*$`)

// Validate checks parameter names.
func (p *PgConf) Validate() error {
	if len(p.Settings) == 0 && len(p.Reset) == 0 {
		return errors.New("pg_conf: give settings or reset")
	}
	for k := range p.Settings {
		if !pgParam.MatchString(k) {
			return fmt.Errorf("pg_conf: %q is not a parameter name", k)
		}
	}
	for _, k := range p.Reset {
		if !pgParam.MatchString(k) {
			return fmt.Errorf("pg_conf: %q is not a parameter name", k)
		}
	}
	return nil
}

// current reads the server's view of each parameter: the value in
// postgresql.auto.conf (if any) and every other file that sets it.
const pgConfQuery = `SELECT s.name, s.setting, s.unit, s.context, s.pending_restart,
  coalesce((SELECT f.setting FROM pg_file_settings f WHERE f.name = s.name AND f.sourcefile LIKE '%postgresql.auto.conf' ORDER BY f.seqno DESC LIMIT 1), '') AS auto,
  (SELECT count(*) FROM pg_file_settings f WHERE f.name = s.name AND f.sourcefile LIKE '%postgresql.auto.conf') AS in_auto,
  coalesce((SELECT string_agg(f.sourcefile || ':' || f.sourceline || ' sets ' || f.setting, '; ') FROM pg_file_settings f WHERE f.name = s.name AND f.sourcefile NOT LIKE '%postgresql.auto.conf'), '') AS elsewhere
FROM pg_settings s WHERE s.name = ANY (string_to_array(:'names', ','))`

// Run compares and applies.
func (p *PgConf) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	names := make([]string, 0, len(p.Settings)+len(p.Reset))
	for k := range p.Settings {
		names = append(names, k)
	}
	names = append(names, p.Reset...)
	sort.Strings(names)
	rows, err := QueryNames(ctx, env.Host, p.PgConn, pgConfQuery, map[string]string{"names": strings.Join(names, ",")})
	if err != nil {
		return nil, err
	}
	known := map[string]map[string]string{}
	for _, r := range rows.Rows {
		known[r["name"]] = r
	}
	var before, after strings.Builder
	var stmts []string
	params := map[string]string{}
	for i, name := range names {
		row, ok := known[name]
		if !ok {
			all, _ := Query(ctx, env.Host, p.PgConn, "SELECT name FROM pg_settings", nil)
			var cands []string
			if all != nil {
				cands = all.Values()
			}
			return modules.Failf("unknown PostgreSQL parameter %q%s", name, diag.DidYouMean(name, cands)), nil
		}
		want, set := p.Settings[name]
		if !set { // reset
			if row["in_auto"] != "0" {
				fmt.Fprintf(&before, "%s = '%s'\n", name, row["auto"])
				stmts = append(stmts, "ALTER SYSTEM RESET "+name)
			}
			continue
		}
		if row["in_auto"] != "0" && row["auto"] == want {
			continue
		}
		if row["in_auto"] != "0" {
			fmt.Fprintf(&before, "%s = '%s'\n", name, row["auto"])
		} else {
			fmt.Fprintf(&before, "# %s = %s%s (not in postgresql.auto.conf)\n", name, row["setting"], row["unit"])
		}
		fmt.Fprintf(&after, "%s = '%s'\n", name, want)
		pn := fmt.Sprintf("v%d", i)
		params[pn] = want
		stmts = append(stmts, fmt.Sprintf("ALTER SYSTEM SET %s TO :'%s'", name, pn))
		if row["elsewhere"] != "" && env.Warn != nil {
			env.Warn("%s: postgresql.auto.conf overrides %s", name, row["elsewhere"])
		}
	}
	res := &modules.Result{Data: map[string]any{"restart_required": false}}
	if len(stmts) == 0 {
		res.Data["restart_required"] = anyPending(rows)
		return res, nil
	}
	res.Changed = true
	res.Diffs = []modules.Diff{{Path: "postgresql.auto.conf", Before: before.String(), After: after.String()}}
	res.Then(func(ctx context.Context) error {
		// ALTER SYSTEM cannot run in a transaction block: one statement each.
		if _, err := Query(ctx, env.Host, p.PgConn, strings.Join(stmts, ";\n"), params); err != nil {
			return err
		}
		if p.Reload == nil || *p.Reload {
			rows, err = QueryNames(ctx, env.Host, p.PgConn, "SELECT pg_reload_conf(); SELECT pg_sleep(0.2); "+pgConfQuery, map[string]string{"names": strings.Join(names, ",")})
			if err != nil {
				return err
			}
			res.Data["restart_required"] = anyPending(rows)
		} else {
			res.Data["restart_required"] = true
		}
		return nil
	})
	return res, nil
}

func anyPending(rows *PgRows) bool {
	for _, r := range rows.Rows {
		if r["pending_restart"] == "t" {
			return true
		}
	}
	return false
}

var _ modules.Validator = (*PgConf)(nil)

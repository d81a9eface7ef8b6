package pg

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// PgRewind turns a stopped former primary into a standby of the current
// primary by rewinding its data directory (only the blocks that diverged),
// instead of copying everything again. Run a CHECKPOINT on the source
// first: a freshly promoted primary otherwise still looks like it is on the
// old timeline, and pg_rewind wrongly says no rewind is required.
type PgRewind struct {
	DataDir    string `yaml:"data_dir" doc:"the former primary's data directory"`
	ConfigFile string `yaml:"config_file" doc:"postgresql.conf (needed on Debian/Ubuntu, where it is not in the data directory)"`
	SourceHost string `yaml:"source_host" doc:"the current primary"`
	SourcePort int    `yaml:"source_port" doc:"its port" default:"5432"`
	SourceUser string `yaml:"source_user" doc:"a superuser on the source" default:"postgres"`
	Passfile   string `yaml:"passfile" doc:".pgpass with the source user's password"`
	OSUser     string `yaml:"os_user" doc:"the cluster's OS user" default:"postgres"`
	Binary     string `yaml:"binary" doc:"pg_rewind to run (default: the one beside the server)"`
	// WAL the target recycled since the divergence comes from its archive
	RestoreTargetWAL bool `yaml:"restore_target_wal" doc:"fetch WAL the target no longer has with its restore_command (-c)"`
	// pg_rewind -R writes the source connection (a superuser's) as
	// primary_conninfo; the standby must stream as the replication role
	// under its own application_name, and cannot be changed by ALTER
	// SYSTEM before it accepts connections, so the line is written here.
	PrimaryConninfo string `yaml:"primary_conninfo" doc:"primary_conninfo to write in place of the one pg_rewind -R writes"`
}

func init() {
	modules.Register(modules.Info{ID: "pg_rewind", Summary: "Rewind a stopped former primary into a standby of the current primary (pg_rewind -R), refusing a running server.",
		Example: "pg_rewind:\n  data_dir: /var/lib/postgresql/15/main\n  config_file: /etc/postgresql/15/main/postgresql.conf\n  source_host: 192.168.100.12\n  passfile: /var/lib/postgresql/.pgpass",
		New:     func() modules.Module { return &PgRewind{SourcePort: 5432, SourceUser: "postgres", OSUser: "postgres"} }})
}

// Validate checks the arguments.
func (p *PgRewind) Validate() error {
	if p.DataDir == "" || p.SourceHost == "" {
		return errors.New("pg_rewind: data_dir and source_host are required")
	}
	return nil
}

// Args is the pg_rewind command line (pure, table-tested).
func (p *PgRewind) Args(binary string) []string {
	args := []string{binary, "-D", p.DataDir, "--source-server=" + p.source(), "-R", "-P"}
	if p.ConfigFile != "" {
		args = append(args, "--config-file="+p.ConfigFile)
	}
	if p.RestoreTargetWAL {
		args = append(args, "--restore-target-wal")
	}
	return args
}

// source is the connection string of the current primary.
func (p *PgRewind) source() string {
	src := fmt.Sprintf("host=%s port=%d user=%s dbname=postgres", p.SourceHost, p.SourcePort, p.SourceUser)
	if p.Passfile != "" {
		src += " passfile=" + p.Passfile
	}
	return src
}

// Run rewinds unless the directory is already a standby of the source.
func (p *PgRewind) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	b := &PgBasebackup{PgConn: PgConn{OSUser: p.OSUser}, DataDir: p.DataDir}
	st, err := b.inspect(ctx, env.Host)
	if err != nil {
		return nil, err
	}
	if !st.Exists || st.Empty {
		return modules.Failf("%s on %s is empty: nothing to rewind (clone it with pg_basebackup)", p.DataDir, env.Host.Name()), nil
	}
	if st.Running {
		return modules.Failf("PostgreSQL runs on %s (%s): stop it before pg_rewind", env.Host.Name(), p.DataDir), nil
	}
	if st.Standby && CurrentUpstream(st.AutoConf)["host"] == p.SourceHost {
		return &modules.Result{Msg: "already a standby of " + p.SourceHost}, nil
	}
	res := &modules.Result{Changed: true, Msg: fmt.Sprintf("rewind %s to follow %s", p.DataDir, p.SourceHost)}
	bin := modules.Quote(p.Binary)
	if p.Binary == "" {
		// pg_rewind is not on PATH on Debian/Ubuntu: use the server's own
		bin = `"$(dirname "$(readlink -f "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/postgres")")/pg_rewind"`
	}
	line := modules.Join(p.Args("PGREWIND")...)
	line = strings.Replace(line, "PGREWIND", bin, 1)
	// what the rewind throws away, measured first (check mode too: the
	// dry run changes nothing)
	res.Data = map[string]any{}
	if d, ok := p.discarded(ctx, env.Host, bin); ok {
		res.Data["diverged_at"], res.Data["diverged_timeline"] = d.DivergedAt, d.Timeline
		res.Data["discarded_wal_bytes"], res.Data["discarded_transactions"] = d.Bytes, d.Transactions
		res.Msg += fmt.Sprintf("; discards %d bytes of WAL (%d transactions) it wrote on timeline %d after %s", d.Bytes, d.Transactions, d.Timeline, d.DivergedAt)
	}
	res.Then(func(ctx context.Context) error {
		r, err := env.Host.Run(ctx, modules.Cmd{Script: AsUser(p.OSUser, line+" 2>&1")})
		if err != nil {
			return err
		}
		out := lastProgress(r.Stdout)
		res.Data["output"] = out
		if r.RC != 0 {
			*res = modules.Result{Failed: true, Data: res.Data, Msg: "pg_rewind failed: " + modules.LastLines(out, 6)}
			return nil
		}
		if p.PrimaryConninfo != "" {
			if err := SetPrimaryConninfo(ctx, env.Host, p.OSUser, p.DataDir, p.PrimaryConninfo); err != nil {
				return err
			}
		}
		return nil
	})
	return res, nil
}

// SetPrimaryConninfo rewrites postgresql.auto.conf of a stopped server
// with exactly one primary_conninfo line.
func SetPrimaryConninfo(ctx context.Context, h modules.Host, osUser, dataDir, conninfo string) error {
	line := "primary_conninfo = '" + strings.ReplaceAll(conninfo, "'", "''") + "'"
	f := modules.Quote(dataDir + "/postgresql.auto.conf")
	script := "set -e\n" +
		"grep -v '^primary_conninfo' " + f + " > " + f + ".tmp || true\n" +
		"printf '%s\\n' " + modules.Quote(line) + " >> " + f + ".tmp\n" +
		"mv " + f + ".tmp " + f
	_, err := modules.RunOK(ctx, h, AsUser(osUser, script), "writing primary_conninfo")
	return err
}

var _ modules.Validator = (*PgRewind)(nil)

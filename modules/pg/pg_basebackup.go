package pg

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// PgBasebackup clones a standby from an upstream server.
type PgBasebackup struct {
	PgConn             `yaml:",inline"`
	DataDir            string `yaml:"data_dir" doc:"the standby's data directory"`
	UpstreamHost       string `yaml:"upstream_host" doc:"host to clone from (the primary, or a standby for a cascade)"`
	UpstreamPort       int    `yaml:"upstream_port" doc:"upstream port" default:"5432"`
	User               string `yaml:"user" doc:"replication role" default:"replicator"`
	ApplicationName    string `yaml:"application_name" doc:"the standby's name as the upstream sees it (must match synchronous_standby_names)"`
	Passfile           string `yaml:"passfile" doc:"a .pgpass file on the host with the replication password (its path, never the password, lands in primary_conninfo)"`
	Slot               string `yaml:"slot" doc:"physical replication slot to use (created when missing)"`
	Force              bool   `yaml:"force" doc:"wipe a data directory that is not already this standby (never a running primary)"`
	Reclone            bool   `yaml:"reclone" doc:"clone again even when it already is this standby (a standby that cannot start, e.g. on a timeline it cannot follow); with force"`
	WipeRunningPrimary bool   `yaml:"wipe_running_primary" doc:"the separate, explicit override for wiping a running primary: never needed in normal recovery"`
	Binary             string `yaml:"binary" doc:"pg_basebackup to run" default:"pg_basebackup"`
}

func init() {
	modules.Register(modules.Info{ID: "pg_basebackup", Summary: "Clone a standby (pg_basebackup -R -X stream -c fast) as postgres, application_name in primary_conninfo; refuses to wipe a running primary.",
		Example: "pg_basebackup:\n  data_dir: /var/lib/postgresql/15/main\n  upstream_host: 192.168.100.11\n  application_name: postgres2\n  passfile: /var/lib/postgresql/.pgpass",
		New: func() modules.Module {
			return &PgBasebackup{UpstreamPort: 5432, User: "replicator", Binary: "pg_basebackup"}
		}})
}

// Validate checks the arguments.
func (b *PgBasebackup) Validate() error {
	if b.DataDir == "" || b.UpstreamHost == "" || b.ApplicationName == "" {
		return errors.New("pg_basebackup: data_dir, upstream_host and application_name are required")
	}
	if !strings.HasPrefix(b.DataDir, "/") || b.DataDir == "/" {
		return fmt.Errorf("pg_basebackup: data_dir must be an absolute path, got %q", b.DataDir)
	}
	return nil
}

// Conninfo is the connection string pg_basebackup -R copies into
// primary_conninfo: application_name and passfile are in it, the password
// is not.
func (b *PgBasebackup) Conninfo() string {
	parts := []string{"host=" + b.UpstreamHost, fmt.Sprintf("port=%d", b.UpstreamPort), "user=" + b.User, "application_name=" + b.ApplicationName}
	if b.Passfile != "" {
		parts = append(parts, "passfile="+b.Passfile)
	}
	return strings.Join(parts, " ")
}

// Args is the pg_basebackup command line (pure, table-tested).
func (b *PgBasebackup) Args(createSlot bool) []string {
	args := []string{b.Binary, "-D", b.DataDir, "-d", b.Conninfo(), "-R", "-X", "stream", "-c", "fast", "-P", "-w"}
	if b.Slot != "" {
		args = append(args, "-S", b.Slot)
		if createSlot {
			args = append(args, "-C")
		}
	}
	return args
}

// LocalState is what a data directory holds, read in one command.
type LocalState struct {
	Exists, Empty, Standby, Running bool
	AutoConf                        string
}

func (b *PgBasebackup) inspect(ctx context.Context, h modules.Host) (*LocalState, error) {
	d := modules.Quote(b.DataDir)
	script := `d=` + d + `
if [ ! -d "$d" ]; then echo absent; exit 0; fi
if [ -z "$(ls -A "$d")" ]; then echo empty; exit 0; fi
echo present
[ -f "$d/standby.signal" ] && echo standby
# running: the postmaster of postmaster.pid is alive (a zombie is not)
if [ -f "$d/postmaster.pid" ]; then
  pid=$(head -1 "$d/postmaster.pid")
  if kill -0 "$pid" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then echo running; fi
fi
echo ---
cat "$d/postgresql.auto.conf" 2>/dev/null || true`
	r, err := h.Run(ctx, modules.Cmd{Script: AsUser(b.OSUserOr(), script)})
	if err != nil {
		return nil, err
	}
	if r.RC != 0 {
		return nil, fmt.Errorf("inspecting %s: %s", b.DataDir, strings.TrimSpace(r.Stderr))
	}
	head, auto, _ := strings.Cut(r.Stdout, "---\n")
	st := &LocalState{AutoConf: auto}
	for _, w := range strings.Fields(head) {
		switch w {
		case "absent":
		case "empty":
			st.Exists, st.Empty = true, true
		case "present":
			st.Exists = true
		case "standby":
			st.Standby = true
		case "running":
			st.Running = true
		}
	}
	return st, nil
}

// OSUserOr is the OS user that owns the cluster.
func (b *PgBasebackup) OSUserOr() string { return b.PgConn.withDefaults().OSUser }

var conninfoLine = regexp.MustCompile(`(?m)^primary_conninfo = '(.*)'\s*$`)

// CurrentUpstream parses the last primary_conninfo of postgresql.auto.conf
// into its keywords.
func CurrentUpstream(autoConf string) map[string]string {
	m := conninfoLine.FindAllStringSubmatch(autoConf, -1)
	if m == nil {
		return nil
	}
	out := map[string]string{}
	s := strings.ReplaceAll(m[len(m)-1][1], "''", "'")
	for _, kv := range strings.Fields(s) {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = strings.Trim(v, "'")
	}
	return out
}

// matches says whether a data directory is already the wanted standby.
func (b *PgBasebackup) matches(st *LocalState) bool {
	if !st.Standby {
		return false
	}
	cur := CurrentUpstream(st.AutoConf)
	return cur["host"] == b.UpstreamHost && cur["port"] == fmt.Sprint(b.UpstreamPort) && cur["application_name"] == b.ApplicationName
}

// Run clones when needed.
func (b *PgBasebackup) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	st, err := b.inspect(ctx, env.Host)
	if err != nil {
		return nil, err
	}
	host := env.Host.Name()
	res := &modules.Result{Data: map[string]any{"data_dir": b.DataDir, "already_standby": false}}
	if b.matches(st) && !(b.Reclone && b.Force) {
		res.Data["already_standby"] = true // what playbooks test; Msg is for people
		res.Msg = fmt.Sprintf("already a standby of %s:%d as %s", b.UpstreamHost, b.UpstreamPort, b.ApplicationName)
		return res, nil
	}
	if st.Exists && !st.Empty {
		if st.Running {
			rows, err := Query(ctx, env.Host, b.PgConn, "SELECT pg_is_in_recovery()", nil)
			if err != nil {
				return nil, fmt.Errorf("%s: PostgreSQL runs on %s but cannot be asked whether it is a primary: %w", host, b.DataDir, err)
			}
			if rows.One() == "f" && !b.WipeRunningPrimary {
				return modules.Failf("refusing to wipe %s on %s: it is a running primary (pg_is_in_recovery() = false). Fail it over first; wipe_running_primary: true overrides", b.DataDir, host), nil
			}
			if rows.One() != "f" {
				return modules.Failf("%s on %s is a running standby of another upstream: stop PostgreSQL first, then re-clone with force: true", b.DataDir, host), nil
			}
		}
		if !b.Force {
			what := "a primary's data (no standby.signal)"
			if st.Standby {
				what = fmt.Sprintf("a standby of %v", CurrentUpstream(st.AutoConf)["host"])
			}
			return modules.Failf("%s on %s holds %s, not a standby of %s as %s: set force: true to wipe it and clone", b.DataDir, host, what, b.UpstreamHost, b.ApplicationName), nil
		}
	}
	res.Changed = true
	res.Msg = fmt.Sprintf("clone %s from %s:%d as %s", b.DataDir, b.UpstreamHost, b.UpstreamPort, b.ApplicationName)
	if st.Exists && !st.Empty {
		res.Msg = "wipe and re-" + res.Msg
	}
	res.Then(func(ctx context.Context) error {
		if st.Exists && !st.Empty {
			if st.Running && b.WipeRunningPrimary {
				if _, err := modules.RunOK(ctx, env.Host, AsUser(b.OSUserOr(), "kill -INT $(head -1 "+modules.Quote(b.DataDir+"/postmaster.pid")+"); sleep 2"), "stopping the primary"); err != nil {
					return err
				}
			}
		}
		out, err := b.clone(ctx, env.Host, st.Exists && !st.Empty)
		if err != nil {
			return err
		}
		res.Data["output"] = out
		return nil
	})
	return res, nil
}

func (b *PgBasebackup) clone(ctx context.Context, h modules.Host, wipe bool) (string, error) {
	d := modules.Quote(b.DataDir)
	prep := "set -e\n"
	if wipe {
		// Empty the directory but keep it (its owner and mode may be set by
		// the packaging); dot files too.
		prep += "find " + d + " -mindepth 1 -delete\n"
	}
	prep += "mkdir -p " + d + " && chmod 0700 " + d + "\n"
	run := func(create bool) (modules.CmdResult, error) {
		return h.Run(ctx, modules.Cmd{Script: AsUser(b.OSUserOr(), prep+modules.Join(b.Args(create)...)+" 2>&1")})
	}
	r, err := run(b.Slot != "")
	if err == nil && r.RC != 0 && b.Slot != "" && strings.Contains(r.Stdout, "already exists") {
		r, err = run(false)
	}
	if err != nil {
		return "", err
	}
	if r.RC != 0 {
		return "", fmt.Errorf("pg_basebackup from %s failed: %s", b.UpstreamHost, modules.LastLines(strings.TrimSpace(lastProgress(r.Stdout)), 6))
	}
	// Cloning from a standby copies its primary_conninfo and -R appends a
	// second one: keep only the last, so the file says one thing.
	fix := AsUser(b.OSUserOr(), `f=`+modules.Quote(b.DataDir+"/postgresql.auto.conf")+`
n=$(grep -c '^primary_conninfo' "$f" || true)
if [ "$n" -gt 1 ]; then
  awk -v n="$n" '/^primary_conninfo/ { c++; if (c < n) next } { print }' "$f" > "$f.tmp" && mv "$f.tmp" "$f"
fi`)
	if _, err := modules.RunOK(ctx, h, fix, "tidying postgresql.auto.conf"); err != nil {
		return "", err
	}
	return lastProgress(r.Stdout), nil
}

// lastProgress keeps the last of pg_basebackup's \r-separated progress lines.
func lastProgress(out string) string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if i := strings.LastIndex(l, "\r"); i >= 0 {
			l = l[i+1:]
		}
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

var _ modules.Validator = (*PgBasebackup)(nil)

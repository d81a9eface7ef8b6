package pg

import (
	"context"
	"fmt"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// PgHba manages a block of pg_hba.conf entries, placed first (pg_hba.conf
// is first-match), then reloads and verifies the server accepted the file.
type PgHba struct {
	PgConn  `yaml:",inline"`
	Path    string     `yaml:"path" doc:"pg_hba.conf (default: the server's hba_file)"`
	Entries []HbaEntry `yaml:"entries" doc:"the managed entries, in order (the block holds exactly these)"`
}

// HbaEntry is one pg_hba.conf line.
type HbaEntry struct {
	Type     string `yaml:"type" doc:"local, host, hostssl, hostnossl"`
	Database string `yaml:"database" doc:"database, or replication, all"`
	User     string `yaml:"user" doc:"role, or all"`
	Address  string `yaml:"address" doc:"CIDR address (not for local)"`
	Method   string `yaml:"method" doc:"scram-sha-256, md5, peer, trust, reject, ..."`
	Options  string `yaml:"options" doc:"method options"`
}

func init() {
	modules.Register(modules.Info{ID: "pg_hba", Summary: "Manage pg_hba.conf entries idempotently; reloads and fails naming the bad line if the server rejects one.",
		Example: "pg_hba:\n  entries:\n    - {type: host, database: replication, user: replicator, address: 192.168.100.12/32, method: scram-sha-256}",
		New:     func() modules.Module { return &PgHba{} }})
}

const hbaBegin, hbaEnd = "# BEGIN runbook managed entries", "# END runbook managed entries"

// Validate checks each entry's shape.
func (p *PgHba) Validate() error {
	for i, e := range p.Entries {
		if e.Type == "" || e.Database == "" || e.User == "" || e.Method == "" {
			return fmt.Errorf("pg_hba: entry %d needs type, database, user and method", i+1)
		}
		switch e.Type {
		case "local":
			if e.Address != "" {
				return fmt.Errorf("pg_hba: entry %d: a local entry has no address", i+1)
			}
		case "host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc":
			if e.Address == "" {
				return fmt.Errorf("pg_hba: entry %d: a %s entry needs an address", i+1, e.Type)
			}
		default:
			return fmt.Errorf("pg_hba: entry %d: unknown type %q", i+1, e.Type)
		}
	}
	return nil
}

// Line renders an entry.
func (e HbaEntry) Line() string {
	f := []string{e.Type, e.Database, e.User}
	if e.Address != "" {
		f = append(f, e.Address)
	}
	f = append(f, e.Method)
	if e.Options != "" {
		f = append(f, e.Options)
	}
	return strings.Join(f, "\t")
}

// WithBlock returns text with the managed block replaced (or put first).
func WithBlock(text string, entries []HbaEntry) string {
	var block strings.Builder
	block.WriteString(hbaBegin + "\n")
	for _, e := range entries {
		block.WriteString(e.Line() + "\n")
	}
	block.WriteString(hbaEnd + "\n")
	start := strings.Index(text, hbaBegin)
	end := strings.Index(text, hbaEnd)
	if start >= 0 && end > start {
		rest := text[end+len(hbaEnd):]
		rest = strings.TrimPrefix(rest, "\n")
		return text[:start] + block.String() + rest
	}
	return block.String() + text
}

// Run writes the block, reloads, and checks pg_hba_file_rules; a file the
// server rejects is put back as it was.
func (p *PgHba) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	path := p.Path
	if path == "" {
		rows, err := Query(ctx, env.Host, p.PgConn, "SHOW hba_file", nil)
		if err != nil {
			return nil, err
		}
		path = rows.One()
	}
	st, err := modules.Stat(ctx, env.Host, path, true)
	if err != nil {
		return nil, err
	}
	if !st.Exists {
		return modules.Failf("%s does not exist", path), nil
	}
	want := WithBlock(string(st.Content), p.Entries)
	res, err := modules.PutFile(ctx, env, modules.FileSpec{Path: path, Data: []byte(want)})
	if err != nil || !res.Changed {
		return res, err
	}
	// once written, the server reads it; a file it rejects is put back
	res.Then(func(ctx context.Context) error {
		bad, err := hbaErrors(ctx, env.Host, p.PgConn)
		if err != nil || bad == "" {
			return err
		}
		back, err := modules.PutFile(ctx, &modules.Env{Host: env.Host}, modules.FileSpec{Path: path, Data: st.Content})
		if err == nil {
			err = back.Do(ctx)
		}
		if err != nil {
			return fmt.Errorf("the server rejected %s (%s) and restoring it failed: %w", path, bad, err)
		}
		if _, err := Query(ctx, env.Host, p.PgConn, "SELECT pg_reload_conf()", nil); err != nil {
			return err
		}
		*res = *modules.Failf("the server rejected %s: %s (the previous file was restored)", path, bad)
		return nil
	})
	return res, nil
}

func hbaErrors(ctx context.Context, h modules.Host, c PgConn) (string, error) {
	rows, err := Query(ctx, h, c, "SELECT pg_reload_conf(); SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL", nil)
	if err != nil {
		return "", err
	}
	var msgs []string
	for _, r := range rows.Rows {
		msgs = append(msgs, fmt.Sprintf("line %s: %s", r["line_number"], r["error"]))
	}
	return strings.Join(msgs, "; "), nil
}

var _ modules.Validator = (*PgHba)(nil)

package pg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/runbook-lab/runbook/internal/history"
	"github.com/runbook-lab/runbook/internal/inputfile"
	"github.com/runbook-lab/runbook/modules"
)

// The probe's processes in the history: the two writers, the reader on
// pgpool's primary and the load-balanced reader. A process whose operation
// ended unknown (info) continues under its number plus processCount
// (Jepsen's rule: the old operation may still take effect).
const (
	processKept = iota
	processFresh
	processPrimaryReader
	processBalancedReader
	processCount
	processFinal = 1000
)

// op records one history event at the probe's monotonic clock.
func (pr *probe) op(o history.Op) {
	pr.mu.Lock()
	o.Time = time.Since(pr.t0).Nanoseconds()
	pr.hist = append(pr.hist, o)
	pr.mu.Unlock()
}

// outcome sorts a failed write: "fail" when PostgreSQL certainly did not
// commit it (nothing was sent, or an error raised before the commit),
// else "info": a reset or a timeout after the INSERT left may have
// committed (a backend terminated while its commit waits for the
// synchronous standby has committed locally).
func outcome(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		c := pgErr.Code
		if c == "25006" || strings.HasPrefix(c, "22") || strings.HasPrefix(c, "23") || strings.HasPrefix(c, "42") {
			return "fail"
		}
		return "info"
	}
	if pgconn.SafeToRetry(err) {
		return "fail"
	}
	return "info"
}

// readQuery reads the whole set and says which server answered.
// "/*NO LOAD BALANCE*/" first makes pgpool send it to its primary.
func readQuery(table string, primaryOnly bool) string {
	q := "SELECT coalesce(host(inet_server_addr()), 'local'), coalesce(array_agg(id ORDER BY id), '{}') FROM " + table
	if primaryOnly {
		q = "/*NO LOAD BALANCE*/ " + q
	}
	return q
}

// read is a reader's loop: the whole set every 200 ms, on a kept
// connection for pgpool's primary, a new one each time when balanced.
func (pr *probe) read(ctx context.Context, process int, path string) {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	q := readQuery(pr.table, path == "primary")
	for ctx.Err() == nil {
		pr.op(history.Op{Type: "invoke", F: "read", Process: process, Path: path})
		var err error
		if conn == nil {
			conn, err = pr.dial(ctx)
		}
		var node string
		var ids []int32
		if err == nil {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = conn.QueryRow(rctx, q).Scan(&node, &ids)
			cancel()
		}
		switch {
		case ctx.Err() != nil:
			pr.op(history.Op{Type: "fail", F: "read", Process: process, Path: path, Error: "the probe stopped"})
			return
		case err != nil:
			// a read changes nothing: its failure is certain
			pr.op(history.Op{Type: "fail", F: "read", Process: process, Path: path, Error: err.Error()})
			if conn != nil {
				conn.Close(context.Background())
				conn = nil
			}
		default:
			pr.op(history.Op{Type: "ok", F: "read", Value: intsOf(ids), Process: process, Path: path, Node: node})
			if path == "balanced" {
				// pgpool picks a session's load-balancing node when it
				// starts: a new session per read samples every node
				conn.Close(context.Background())
				conn = nil
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func intsOf(ids []int32) []int {
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}

// finalRead reads the table where the judging read must happen: on the
// one node that answers as a writable primary, asked directly (a read
// through pgpool may be balanced to a standby that lags); through pgpool's
// primary path when the nodes are unknown or do not name one primary.
// It returns the rows by client and the read as two history events.
func (pr *probe) finalRead(ctx context.Context) (map[string]map[int]bool, []history.Op, error) {
	dial, where := pr.dial, "pgpool's primary"
	var primaries []string
	for name, d := range pr.nodes {
		c, err := d(ctx)
		if err != nil {
			continue
		}
		var recovery bool
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = c.QueryRow(qctx, "SELECT pg_is_in_recovery()").Scan(&recovery)
		cancel()
		c.Close(context.Background())
		if err == nil && !recovery {
			primaries = append(primaries, name)
		}
	}
	if len(primaries) == 1 {
		dial, where = pr.nodes[primaries[0]], primaries[0]
	}
	inv := time.Since(pr.t0).Nanoseconds()
	c, err := dial(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the rows back on %s: %w", where, err)
	}
	defer c.Close(context.Background())
	q := "/*NO LOAD BALANCE*/ SELECT client, id, coalesce(host(inet_server_addr()), 'local') FROM " + pr.table
	rows, err := c.Query(ctx, q)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the rows back on %s: %w", where, err)
	}
	present := map[string]map[int]bool{"kept": {}, "fresh": {}}
	var all []int
	node := where
	for rows.Next() {
		var client string
		var id int
		if err := rows.Scan(&client, &id, &node); err != nil {
			return nil, nil, err
		}
		if present[client] != nil {
			present[client][id] = true
		}
		all = append(all, id)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("reading the rows back on %s: %w", where, err)
	}
	ret := time.Since(pr.t0).Nanoseconds()
	if all == nil {
		all = []int{}
	}
	return present, []history.Op{
		{Type: "invoke", F: "read", Time: inv, Process: processFinal, Path: "final"},
		{Type: "ok", F: "read", Value: all, Time: ret, Process: processFinal, Path: "final", Node: node},
	}, nil
}

// check is `action: check`: the drill in report_dir judged again against
// the table as it is now on the current primary (`runbook drills check
// DIR`). It fails, naming them, when acknowledged rows are missing.
func (p *PgProbe) check(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	var rep struct {
		Table string `json:"table"`
	}
	b, err := inputfile.Read(filepath.Join(p.ReportDir, "report.json"))
	if err != nil {
		return nil, fmt.Errorf("pg_probe: %w", err)
	}
	if err := json.Unmarshal(b, &rep); err != nil || rep.Table == "" || !paramName.MatchString(rep.Table) {
		return nil, fmt.Errorf("pg_probe: %s/report.json names no drill table (a report from before histories?)", p.ReportDir)
	}
	b, err = inputfile.Read(filepath.Join(p.ReportDir, "history.json"))
	if err != nil {
		return nil, fmt.Errorf("pg_probe: %w", err)
	}
	var ops []history.Op
	if err := json.Unmarshal(b, &ops); err != nil {
		return nil, fmt.Errorf("pg_probe: %s/history.json: %w", p.ReportDir, err)
	}
	pr, err := p.newProbe(ctx, env, rep.Table)
	if err != nil {
		return nil, err
	}
	// the new final read comes after everything the history holds
	var last int64
	kept := ops[:0]
	for _, o := range ops {
		last = max(last, o.Time)
		if o.Path != "final" {
			kept = append(kept, o)
		}
	}
	pr.t0 = time.Now().Add(-time.Duration(last + 1))
	_, final, err := pr.finalRead(ctx)
	if err != nil {
		return nil, fmt.Errorf("pg_probe: %w", err)
	}
	v, err := history.Check(append(kept, final...))
	if err != nil {
		return nil, fmt.Errorf("pg_probe: %s/history.json: %w", p.ReportDir, err)
	}
	msg := verdictLine(v) + " (table " + rep.Table + " as it is now)"
	res := &modules.Result{Msg: msg, Data: map[string]any{"verdict": v}}
	if !v.Valid {
		res.Failed = true
	}
	return res, nil
}

// verdictLine is the checker's verdict in one line.
func verdictLine(v history.Verdict) string {
	s := fmt.Sprintf("verdict %s: %d acknowledged writes, lost %v, seen then lost %v, indeterminate %d present / %d absent, linearizable %v, stale reads %d of %d load-balanced",
		map[bool]string{true: "valid", false: "INVALID"}[v.Valid], v.Acknowledged, v.Lost, v.VisibleThenLost,
		v.Indeterminate.Present, v.Indeterminate.Absent, v.Linearizable, v.StaleReads.Stale, v.StaleReads.Reads)
	if v.StaleReads.Stale > 0 {
		s += fmt.Sprintf(" (staleness p50 %.2fs, max %.2fs)", v.StaleReads.P50Seconds, v.StaleReads.MaxSeconds)
	}
	if v.Violation != "" {
		s += "; " + v.Violation
	}
	return s
}

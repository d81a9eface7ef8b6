package pg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runbook-lab/runbook/hostexec"
	"github.com/runbook-lab/runbook/internal/history"
	"github.com/runbook-lab/runbook/modules"
)

// PgProbe is the drills' write probe as applications see the database: it
// runs in runbook itself and reaches pgpool through the task host's SSH
// connection (a forwarded TCP connection, so nothing runs or is written on
// the host), as two clients at once: "kept" keeps its connection and opens a
// new one only when it breaks (as an application's pool does), "fresh"
// connects for every row. One transaction per row; every acknowledgement and
// error is kept with millisecond timestamps and its commit latency. The
// report judges by the worse client.
type PgProbe struct {
	Action    string         `yaml:"action" doc:"start, wait, stop, report, or check (report_dir: a drill's report directory, judged again against its table as it is now)"`
	Name      string         `yaml:"name" doc:"the probe's name (several may run)" default:"drill"`
	Host      string         `yaml:"host" doc:"pgpool's address as seen from the task's host" default:"127.0.0.1"`
	Port      int            `yaml:"port" doc:"pgpool's port" default:"9999"`
	User      string         `yaml:"user" doc:"role to write as" default:"postgres"`
	Password  modules.Secret `yaml:"password" doc:"its password (never shown)"`
	DB        string         `yaml:"db" doc:"database" default:"postgres"`
	Table     string         `yaml:"table" doc:"probe table (default runbook_probe_TIMESTAMP, kept after the report so the drill can be judged again; start drops all but the newest 5 of those)"`
	Acks      int            `yaml:"acks" doc:"wait: acknowledgements each client needs after 'after'" default:"30"`
	After     float64        `yaml:"after" doc:"wait: count acknowledgements after this unix time (seconds)"`
	Timeout   float64        `yaml:"timeout" doc:"wait: seconds before failing" default:"90"`
	Every     float64        `yaml:"every" doc:"seconds between two rows of one client" default:"0.02"`
	BreakAt   float64        `yaml:"break_at" doc:"report: when the failure was caused (unix seconds)"`
	ReportDir string         `yaml:"report_dir" doc:"report: a timestamped directory with report.json and timeline.svg is made here, on the machine running runbook" default:"."`
	Drop      bool           `yaml:"drop" doc:"report: drop the probe table"`
	// Nodes are the database servers (address:port as seen from the task's
	// host) whose pg_is_in_recovery() the probe polls every 100 ms, to catch
	// any moment with two writable primaries, even one pgpool never routes to.
	Nodes map[string]string `yaml:"nodes" doc:"start: name -> address:port of each database node, polled for split brain (two writable primaries)"`
}

func init() {
	modules.Register(modules.Info{ID: "pg_probe", Summary: "The drills' write probe, run in runbook through the host's SSH connection: a kept-connection client and a connect-per-row client writing numbered rows through pgpool; report gives lost acknowledged rows, outages and commit latencies per client, as JSON and an SVG timeline.",
		Example: "pg_probe:\n  action: start\n  port: 9999\n  password: \"{{ .postgres_password }}\"\nno_log: true",
		New:     func() modules.Module { return &PgProbe{} }})
	modules.AtEnd(StopProbes)
}

// Validate checks the action and the table name.
func (p *PgProbe) Validate() error {
	switch p.Action {
	case "start", "wait", "stop", "report", "check":
	default:
		return fmt.Errorf("pg_probe: action must be start, wait, stop, report or check, got %q", p.Action)
	}
	if p.Table != "" && !paramName.MatchString(p.Table) {
		return fmt.Errorf("pg_probe: %q is not a plain table name", p.Table)
	}
	return nil
}

// ProbeEvent is one row a client tried to write.
type ProbeEvent struct {
	Client  string  `json:"client"`
	ID      int     `json:"id"`
	Ack     bool    `json:"ack"`
	Start   float64 `json:"start"` // unix seconds, ms resolution
	End     float64 `json:"end"`
	Latency float64 `json:"latency_ms"`
	Err     string  `json:"error,omitempty"`
}

// probe is a running probe: its clients' goroutines and what they saw.
type probe struct {
	samples []roleSample // the nodes' pg_is_in_recovery() over time
	cancel  context.CancelFunc
	done    sync.WaitGroup
	mu      sync.Mutex
	events  []ProbeEvent
	hist    []history.Op // every client operation, Jepsen's shape
	t0      time.Time    // the history's clock starts here (monotonic)
	ids     atomic.Int64 // the last row id taken: ids are unique across clients
	dial    func(ctx context.Context) (*pgx.Conn, error)
	nodes   map[string]func(ctx context.Context) (*pgx.Conn, error)
	table   string
}

// probes are the running probes by name: they outlive one task, and
// StopProbes ends every one when the run ends, however it ends.
var probes = struct {
	sync.Mutex
	byName map[string]*probe
}{byName: map[string]*probe{}}

// StopProbes stops every running probe (the runner calls it at the end of
// a run: a failed drill must not leave its probe writing).
func StopProbes() {
	probes.Lock()
	all := probes.byName
	probes.byName = map[string]*probe{}
	probes.Unlock()
	for _, pr := range all {
		pr.stop()
	}
}

func (pr *probe) stop() {
	pr.cancel()
	pr.done.Wait()
}

func (pr *probe) record(e ProbeEvent) {
	pr.mu.Lock()
	pr.events = append(pr.events, e)
	pr.mu.Unlock()
}

func (pr *probe) snapshot() []ProbeEvent {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return append([]ProbeEvent(nil), pr.events...)
}

// Run performs the action.
func (p *PgProbe) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	// it acts as it runs: skipped in check mode
	return modules.Act(func(ctx context.Context) (*modules.Result, error) { return p.act(ctx, env) }), nil
}

func (p *PgProbe) act(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	switch p.Action {
	case "start":
		return p.start(ctx, env)
	case "wait":
		return p.wait(ctx)
	case "check":
		return p.check(ctx, env)
	case "stop":
		probes.Lock()
		pr := probes.byName[p.Name]
		probes.Unlock()
		if pr == nil {
			return nil, fmt.Errorf("pg_probe: no probe %q is running", p.Name)
		}
		pr.stop()
		return &modules.Result{Changed: true, Msg: "probe stopped"}, nil
	}
	return p.report(ctx)
}

// nodeDialer is dialer for one database node (address:port).
func (p *PgProbe) nodeDialer(ctx context.Context, env *modules.Env, name, addr string) (func(ctx context.Context) (*pgx.Conn, error), error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("pg_probe: node address %q: %w", addr, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("pg_probe: node address %q: bad port", addr)
	}
	q := *p
	q.Host, q.Port = host, n
	// through the node's own connection when the runner can give it: a
	// partition between this host and the node must not blind the poll
	if env.HostFor != nil {
		if h, err := env.HostFor(ctx, name); err == nil {
			return q.dialer(&modules.Env{Host: h})
		}
	}
	return q.dialer(env)
}

// roleSample is one answer (or silence) of a node to pg_is_in_recovery().
type roleSample struct {
	Node     string  `json:"node"`
	At       float64 `json:"at"`
	Writable bool    `json:"writable"`
	OK       bool    `json:"answered"`
}

// poll asks a node every 100 ms whether it is in recovery, on a kept
// connection; a node that does not answer within a second is "no answer".
func (pr *probe) poll(ctx context.Context, node string, dial func(context.Context) (*pgx.Conn, error)) {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	for ctx.Err() == nil {
		var recovery bool
		var err error
		if conn == nil {
			conn, err = dial(ctx)
		}
		if err == nil {
			qctx, cancel := context.WithTimeout(ctx, time.Second)
			err = conn.QueryRow(qctx, "SELECT pg_is_in_recovery()").Scan(&recovery)
			cancel()
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil && conn != nil {
			conn.Close(context.Background())
			conn = nil
		}
		pr.mu.Lock()
		pr.samples = append(pr.samples, roleSample{Node: node, At: now(), Writable: err == nil && !recovery, OK: err == nil})
		pr.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// dialer makes pgx connections through the host's connection.
func (p *PgProbe) dialer(env *modules.Env) (func(ctx context.Context) (*pgx.Conn, error), error) {
	fwd, ok := env.Host.(hostexec.TCPDialer)
	if !ok {
		return nil, errors.New("pg_probe: this connection cannot forward TCP")
	}
	cfg, err := pgx.ParseConfig("")
	if err != nil {
		return nil, err
	}
	cfg.Host, cfg.Port, cfg.User, cfg.Password, cfg.Database = p.Host, uint16(p.Port), p.User, string(p.Password), p.DB
	cfg.TLSConfig, cfg.Fallbacks = nil, nil
	cfg.ConnectTimeout = 5 * time.Second
	addr := net.JoinHostPort(p.Host, strconv.Itoa(p.Port))
	cfg.DialFunc = func(ctx context.Context, _, _ string) (net.Conn, error) {
		type result struct {
			c   net.Conn
			err error
		}
		ch := make(chan result, 1)
		go func() { c, err := fwd.DialTCP(addr); ch <- result{c, err} }()
		select {
		case r := <-ch:
			return r.c, r.err
		case <-ctx.Done():
			go func() {
				if r := <-ch; r.c != nil {
					r.c.Close()
				}
			}()
			return nil, ctx.Err()
		}
	}
	return func(ctx context.Context) (*pgx.Conn, error) {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return pgx.ConnectConfig(cctx, cfg)
	}, nil
}

// newProbe connects nothing yet: it makes the dialers, through pgpool and
// to each node.
func (p *PgProbe) newProbe(ctx context.Context, env *modules.Env, table string) (*probe, error) {
	dial, err := p.dialer(env)
	if err != nil {
		return nil, err
	}
	pr := &probe{dial: dial, table: table, t0: time.Now(), nodes: map[string]func(ctx context.Context) (*pgx.Conn, error){}}
	for name, addr := range p.Nodes {
		nodeDial, err := p.nodeDialer(ctx, env, name, addr)
		if err != nil {
			return nil, err
		}
		pr.nodes[name] = nodeDial
	}
	return pr, nil
}

// keptTables is how many past drills' tables start leaves in place.
const keptTables = 5

func (p *PgProbe) start(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	table := p.Table
	if table == "" {
		table = "runbook_probe_" + time.Now().UTC().Format("20060102_150405")
	}
	pr, err := p.newProbe(ctx, env, table)
	if err != nil {
		return nil, err
	}
	c, err := pr.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("pg_probe: connecting to %s:%d through %s: %w", p.Host, p.Port, env.Host.Name(), err)
	}
	if p.Table == "" {
		// past drills' tables beyond the newest few
		rows, err := c.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename ~ '^runbook_probe_[0-9_]+$' ORDER BY tablename DESC OFFSET $1`, keptTables-1)
		if err == nil {
			old, _ := pgx.CollectRows(rows, pgx.RowTo[string])
			for _, t := range old {
				c.Exec(ctx, "DROP TABLE IF EXISTS "+pgx.Identifier{t}.Sanitize())
			}
		}
	}
	_, err = c.Exec(ctx, "DROP TABLE IF EXISTS "+table+"; CREATE TABLE "+table+" (client text, id int, PRIMARY KEY (client, id))")
	c.Close(context.Background())
	if err != nil {
		return nil, fmt.Errorf("pg_probe: creating %s: %w", table, err)
	}
	probes.Lock()
	if old := probes.byName[p.Name]; old != nil {
		probes.Unlock()
		return nil, fmt.Errorf("pg_probe: a probe %q is already running", p.Name)
	}
	// the clients outlive this task: their context is the probe's own
	pctx, cancel := context.WithCancel(context.Background())
	pr.cancel, pr.t0 = cancel, time.Now()
	probes.byName[p.Name] = pr
	probes.Unlock()
	every := time.Duration(p.Every * float64(time.Second))
	for i, client := range []string{"kept", "fresh"} {
		pr.done.Add(1)
		go func() {
			defer pr.done.Done()
			pr.write(pctx, client, processKept+i, every)
		}()
	}
	for process, path := range map[int]string{processPrimaryReader: "primary", processBalancedReader: "balanced"} {
		pr.done.Add(1)
		go func() {
			defer pr.done.Done()
			pr.read(pctx, process, path)
		}()
	}
	for name, nodeDial := range pr.nodes {
		pr.done.Add(1)
		go func() {
			defer pr.done.Done()
			pr.poll(pctx, name, nodeDial)
		}()
	}
	return &modules.Result{Changed: true, Msg: "probe " + p.Name + " writing through " + env.Host.Name() + " to " + p.Host + ":" + strconv.Itoa(p.Port)}, nil
}

func now() float64 { return float64(time.Now().UnixNano()) / 1e9 }

// write is one client's loop: a row per transaction, every try recorded,
// each with a row id no other client uses.
func (pr *probe) write(ctx context.Context, client string, process int, every time.Duration) {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	insert := "INSERT INTO " + pr.table + " (client, id) VALUES ($1, $2)"
	for ctx.Err() == nil {
		id := int(pr.ids.Add(1))
		pr.op(history.Op{Type: "invoke", F: "write", Value: id, Process: process})
		start := now()
		var err error
		if conn == nil {
			conn, err = pr.dial(ctx)
		}
		if err == nil {
			// 5 s per row: a session pgpool leaves hanging counts as an
			// error and the next row opens a new one
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err = conn.Exec(rctx, insert, client, id)
			cancel()
		}
		end := now()
		if ctx.Err() != nil {
			// stopped mid-row: neither acknowledged nor failed
			pr.op(history.Op{Type: "info", F: "write", Value: id, Process: process, Error: "the probe stopped"})
			return
		}
		e := ProbeEvent{Client: client, ID: id, Ack: err == nil, Start: start, End: end, Latency: (end - start) * 1000}
		if err != nil {
			e.Err = err.Error()
			typ := outcome(err)
			pr.op(history.Op{Type: typ, F: "write", Value: id, Process: process, Error: e.Err})
			if typ == "info" {
				process += processCount
			}
			if conn != nil {
				conn.Close(context.Background())
				conn = nil
			}
		} else {
			pr.op(history.Op{Type: "ok", F: "write", Value: id, Process: process})
		}
		if client == "fresh" && conn != nil {
			conn.Close(context.Background())
			conn = nil
		}
		pr.record(e)
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// wait waits until each client has the acknowledgements asked for.
func (p *PgProbe) wait(ctx context.Context) (*modules.Result, error) {
	probes.Lock()
	pr := probes.byName[p.Name]
	probes.Unlock()
	if pr == nil {
		return nil, fmt.Errorf("pg_probe: no probe %q is running", p.Name)
	}
	deadline := time.Now().Add(time.Duration(p.Timeout * float64(time.Second)))
	for {
		count := map[string]int{}
		for _, e := range pr.snapshot() {
			if e.Ack && e.End > p.After {
				count[e.Client]++
			}
		}
		if count["kept"] >= p.Acks && count["fresh"] >= p.Acks {
			return &modules.Result{Msg: fmt.Sprintf("kept %d, fresh %d acknowledgements", count["kept"], count["fresh"])}, nil
		}
		if time.Now().After(deadline) {
			return modules.Failf("timeout after %gs: kept %d, fresh %d acknowledgements after %.3f, want %d each", p.Timeout, count["kept"], count["fresh"], p.After, p.Acks), nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

var _ modules.Validator = (*PgProbe)(nil)

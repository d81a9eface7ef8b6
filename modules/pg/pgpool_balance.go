package pg

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/runbook-lab/runbook/modules"
)

// PgpoolBalance checks pgpool's load balancing as the notes do it: many
// sessions each run a SELECT through pgpool and say which backend served
// them; the counts must follow the backends' weights (SHOW POOL_NODES) and
// a write must land on the primary. Run through the host's SSH connection.
type PgpoolBalance struct {
	Host      string         `yaml:"host" doc:"pgpool's address as seen from the task's host" default:"127.0.0.1"`
	Port      int            `yaml:"port" doc:"pgpool's port" default:"9999"`
	User      string         `yaml:"user" doc:"role to connect as" default:"postgres"`
	Password  modules.Secret `yaml:"password" doc:"its password (never shown)"`
	DB        string         `yaml:"db" doc:"database" default:"postgres"`
	Sessions  int            `yaml:"sessions" doc:"sessions to open, one SELECT each (pgpool balances per session); 0: as few as tell a backend that gets no reads from its share at this tolerance (26 for three equal weights)"`
	Tolerance float64        `yaml:"tolerance" doc:"how unlikely a node's count may be, in standard deviations of a normal tail (4: 1 in 16,000), judged by an exact binomial test" default:"4"`
	// Weights are the intended weights by backend address: pgpool's own
	// (SHOW POOL_NODES) must say the same, in proportion.
	Weights map[string]float64 `yaml:"weights" doc:"intended weight of each backend by address; pgpool's must match in proportion"`
}

func init() {
	modules.Register(modules.Info{ID: "pgpool_balance", Summary: "Check pgpool's load balancing: reads from many sessions spread over the backends by their weights, a write lands on the primary.",
		Example: "pgpool_balance:\n  port: 9999\n  password: \"{{ .postgres_password }}\"\n  sessions: 300", New: func() modules.Module { return &PgpoolBalance{} }})
}

// Validate checks the numbers.
func (b *PgpoolBalance) Validate() error {
	if b.Sessions != 0 && (b.Sessions < 10 || b.Sessions > 100000) {
		return errors.New("pgpool_balance: sessions must be 0 (enough for the weights) or from 10 to 100000")
	}
	if b.Tolerance <= 0 {
		return errors.New("pgpool_balance: tolerance must be above 0")
	}
	return nil
}

// backend is a row of SHOW POOL_NODES.
type backend struct {
	host, role, status string
	weight             float64
}

// Run reads the weights, opens the sessions, writes once, and judges.
func (b *PgpoolBalance) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	// it acts as it runs: skipped in check mode
	return modules.Act(func(ctx context.Context) (*modules.Result, error) { return b.act(ctx, env) }), nil
}

func (b *PgpoolBalance) act(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	probe := &PgProbe{Host: b.Host, Port: b.Port, User: b.User, Password: b.Password, DB: b.DB}
	dial, err := probe.dialer(env)
	if err != nil {
		return nil, err
	}
	c, err := dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgpool_balance: connecting to pgpool: %w", err)
	}
	// pgpool answers SHOW POOL_NODES itself only over the simple protocol
	rows, err := c.Query(ctx, "SHOW POOL_NODES", pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		c.Close(context.Background())
		return nil, err
	}
	var backends []backend
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			rows.Close()
			c.Close(context.Background())
			return nil, err
		}
		row := map[string]string{}
		for i, f := range rows.FieldDescriptions() {
			row[f.Name] = fmt.Sprint(vals[i])
		}
		var w float64
		fmt.Sscanf(row["lb_weight"], "%g", &w)
		backends = append(backends, backend{host: row["hostname"], role: row["role"], status: row["status"], weight: w})
	}
	rows.Close()
	// a write: after it, pgpool keeps the transaction on the primary
	var writeHost string
	tx, err := c.Begin(ctx)
	if err == nil {
		_, err = tx.Exec(ctx, "CREATE TEMP TABLE runbook_balance_probe (i int)")
		if err == nil {
			err = tx.QueryRow(ctx, "SELECT host(inet_server_addr())").Scan(&writeHost)
		}
		tx.Rollback(context.Background())
	}
	c.Close(context.Background())
	if err != nil {
		return modules.Failf("pgpool_balance: the write: %v", err), nil
	}
	if b.Sessions == 0 {
		b.Sessions = soundSessions(backends, b.Tolerance)
	}
	counts, retried, failure := b.readAll(ctx, dial)
	if failure != "" {
		return modules.Failf("pgpool_balance: %s", failure), nil
	}
	res := b.judge(backends, counts, writeHost)
	if retried > 0 {
		res.Msg += fmt.Sprintf(" (%d sessions were opened again after pgpool closed them at once)", retried)
		if env.Warn != nil {
			env.Warn("pgpool_balance: pgpool closed %d new sessions at once (a child restarting); each was opened again", retried)
		}
	}
	return res, nil
}

// parallelSessions is how many sessions are open at once: pgpool picks a
// backend per session, so opening them side by side measures the same
// spread, in a fraction of the time on slow hosts (150 one after the
// other took 2-3 minutes on the VM tier), and stays far below pgpool's
// children (num_init_children, 32 in the lab).
const parallelSessions = 8

// readAll opens the sessions, parallelSessions at a time, and counts the
// backend that served each; failure says which session could not read.
func (b *PgpoolBalance) readAll(ctx context.Context, dial func(context.Context) (*pgx.Conn, error)) (counts map[string]int, retried int, failure string) {
	counts = map[string]int{}
	var mu sync.Mutex
	next := 0
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for w := 0; w < min(parallelSessions, b.Sessions); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next >= b.Sessions || failure != "" {
					mu.Unlock()
					return
				}
				next++
				i := next
				mu.Unlock()
				host, tries, err := b.read(ctx, dial)
				mu.Lock()
				retried += tries
				if err != nil && failure == "" {
					failure = fmt.Sprintf("session %d: %v (after %d tries)", i, err, tries+1)
					cancel()
				} else if err == nil {
					counts[host]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return counts, retried, failure
}

// read opens one session and asks which backend serves it. pgpool may
// close a new session at once while its children restart (after a node is
// attached or promoted, all of them; at child_life_time, one): such a
// session is opened again, with pauses growing from 0.5 s, for up to
// readPatience: what is measured is the spread, not pgpool's restarts
// (which the drills measure). On a loaded VM after a hand-over the
// children took longer than the one second three quick tries gave them.
func (b *PgpoolBalance) read(ctx context.Context, dial func(context.Context) (*pgx.Conn, error)) (string, int, error) {
	var err error
	deadline := time.Now().Add(readPatience)
	pause := 500 * time.Millisecond
	for try := 0; ; try++ {
		if try > 0 {
			if time.Now().Add(pause).After(deadline) {
				return "", try - 1, err
			}
			select {
			case <-ctx.Done():
				return "", try, ctx.Err()
			case <-time.After(pause):
			}
			pause = min(2*pause, 4*time.Second)
		}
		var s *pgx.Conn
		if s, err = dial(ctx); err != nil {
			continue
		}
		var host string
		err = s.QueryRow(ctx, "SELECT host(inet_server_addr())").Scan(&host)
		s.Close(context.Background())
		if err == nil {
			return host, try, nil
		}
	}
}

// soundSessions is the smallest sample that still tells a backend which
// gets no reads at all from one that gets its share: with n sessions a
// backend of share p gets none with chance (1-p)^n, and n is the smallest
// that makes that chance a rejection at the judge's level (tolerance
// standard deviations as a two-sided tail, 4: about 1 in 16,000), so the
// judge's exact binomial test fails the first and passes the second but
// with that chance. Each session through pgpool costs several SCRAM
// handshakes, slow on an emulated VM: 150 fixed sessions took two minutes
// there; a normal-approximation band needed 72 for three equal weights,
// the exact test 26.
func soundSessions(backends []backend, tolerance float64) int {
	total := 0.0
	for _, be := range backends {
		if be.status == "up" || be.status == "waiting" {
			total += be.weight
		}
	}
	tail := tailChance(tolerance) / 2
	n := 20.0
	for _, be := range backends {
		if (be.status != "up" && be.status != "waiting") || be.weight <= 0 || total <= 0 {
			continue
		}
		p := be.weight / total
		if p < 1 {
			n = max(n, math.Ceil(math.Log(tail)/math.Log(1-p)-1e-9))
		}
	}
	return int(min(n, 2000))
}

// tailChance is the two-sided normal tail beyond t standard deviations:
// the false-alarm chance the tolerance names.
func tailChance(t float64) float64 { return math.Erfc(t / math.Sqrt2) }

// binomialTails are P(X <= k) and P(X >= k) for X ~ Binomial(n, p), exact.
func binomialTails(n, k int, p float64) (below, above float64) {
	lg := func(x int) float64 { v, _ := math.Lgamma(float64(x) + 1); return v }
	pmf := func(i int) float64 {
		if p <= 0 || p >= 1 { // all reads or none: certain
			if (p <= 0 && i == 0) || (p >= 1 && i == n) {
				return 1
			}
			return 0
		}
		return math.Exp(lg(n) - lg(i) - lg(n-i) + float64(i)*math.Log(p) + float64(n-i)*math.Log(1-p))
	}
	for i := 0; i <= n; i++ {
		if i <= k {
			below += pmf(i)
		}
		if i >= k {
			above += pmf(i)
		}
	}
	return below, above
}

// readPatience bounds how long one session is tried again.
const readPatience = 45 * time.Second

// judge compares the counts with each up backend's share of the weights.
func (b *PgpoolBalance) judge(backends []backend, counts map[string]int, writeHost string) *modules.Result {
	total := 0.0
	for _, be := range backends {
		if be.status == "up" || be.status == "waiting" {
			total += be.weight
		}
	}
	var lines, problems []string
	reads := map[string]any{}
	primary := ""
	for _, be := range backends {
		up := be.status == "up" || be.status == "waiting"
		if be.role == "primary" {
			primary = be.host
		}
		share := 0.0
		if up && total > 0 {
			share = be.weight / total
		}
		want := float64(b.Sessions) * share
		got := counts[be.host]
		reads[be.host] = got
		lines = append(lines, fmt.Sprintf("%s (%s, weight %g): %d of %d reads, expected %.0f", be.host, be.role, be.weight, got, b.Sessions, want))
		// an exact two-sided binomial test: as few or as many reads is
		// rarer than the tolerance allows
		below, above := binomialTails(b.Sessions, got, share)
		if limit := tailChance(b.Tolerance) / 2; below < limit || above < limit {
			problems = append(problems, fmt.Sprintf("%s served %d reads, expected %.0f (a count this far off has a chance of %.2g)", be.host, got, want, min(below, above)))
		}
	}
	for host, n := range counts {
		found := false
		for _, be := range backends {
			found = found || be.host == host
		}
		if !found {
			problems = append(problems, fmt.Sprintf("%d reads from %s, which pgpool does not list", n, host))
		}
	}
	if len(b.Weights) > 0 {
		wantTotal, haveTotal := 0.0, 0.0
		for _, w := range b.Weights {
			wantTotal += w
		}
		for _, be := range backends {
			haveTotal += be.weight
		}
		for _, be := range backends {
			want, ok := b.Weights[be.host]
			if !ok || wantTotal == 0 || haveTotal == 0 {
				continue
			}
			if math.Abs(want/wantTotal-be.weight/haveTotal) > 0.01 {
				problems = append(problems, fmt.Sprintf("%s has weight %g in pgpool, %g intended", be.host, be.weight/haveTotal, want/wantTotal))
			}
		}
	}
	if writeHost != primary {
		problems = append(problems, fmt.Sprintf("the write was served by %s, not the primary %s", writeHost, primary))
	}
	sort.Strings(lines)
	res := &modules.Result{Msg: strings.Join(lines, "; ") + "; write on " + writeHost,
		Data: map[string]any{"reads": reads, "write_served_by": writeHost, "primary": primary, "sessions": b.Sessions}}
	if len(problems) > 0 {
		res.Failed = true
		res.Msg = "load balancing is off: " + strings.Join(problems, "; ") + " (" + res.Msg + ")"
	}
	return res
}

var _ modules.Validator = (*PgpoolBalance)(nil)

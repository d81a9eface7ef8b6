package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/runbook-lab/runbook/internal/inputfile"
	"github.com/runbook-lab/runbook/internal/safefile"
)

// Fault is one fault of a campaign and what it showed.
type Fault struct {
	N          int     `json:"n"`
	Mode       string  `json:"mode"`
	Drill      string  `json:"drill"` // ok or the failure
	Recovery   string  `json:"recovery"`
	Verify     string  `json:"verify"`
	Lost       int     `json:"acknowledged_rows_lost"`
	Gap        float64 `json:"longest_gap_s"`
	Back       float64 `json:"first_write_back_s"`
	Detection  float64 `json:"detection_s"`
	TwoPrimary int     `json:"two_primary_moments"`
	Fenced     bool    `json:"fenced"`
	Valid      bool    `json:"verdict_valid"` // the history checker's verdict`
	Seconds    float64 `json:"seconds"`
	Report     string  `json:"report"`
}

// Plan is the campaign's fault sequence: the same seed gives the same
// sequence (a campaign ends when its time is up, so only a prefix runs).
func Plan(seed uint64, n int, modes []string) []string {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]string, n)
	for i := range out {
		out[i] = modes[rng.IntN(len(modes))]
	}
	return out
}

// Play is one playbook run of a campaign: an embedded playbook, a host
// limit ("" for all) and extra variables.
type Play struct {
	Playbook string
	Limit    string
	Vars     map[string]string
}

// String is the play as a user would type it (the campaign's log).
func (p Play) String() string {
	args := []string{p.Playbook}
	if p.Limit != "" {
		args = append(args, "-l", p.Limit)
	}
	keys := make([]string, 0, len(p.Vars))
	for k := range p.Vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-e", k+"="+p.Vars[k])
	}
	return strings.Join(args, " ")
}

// Player runs one play through the runner (with the connection settings
// the campaign was given) and returns its exit code and output.
type Player func(Play) (int, string)

// Broken is a campaign's failure: faults that broke an invariant.
type Broken struct{ Faults int }

func (b *Broken) Error() string { return fmt.Sprintf("%d faults broke an invariant", b.Faults) }

// Campaign runs `runbook play chaos.yaml -e duration=10m -e seed=N`: faults
// drawn from the seed, each under failover-drill.yaml's probe, followed by
// its recovery and verify.yaml, until the duration is spent; one report for
// the campaign. It fails when an invariant breaks: an acknowledged row
// lost, two writable primaries outside a fenced partition, a cluster that
// does not verify after its recovery.
func Campaign(ctx context.Context, stdout io.Writer, run Player, extra map[string]any) error {
	duration := 10 * time.Minute
	if d, ok := extra["duration"]; ok {
		pd, err := time.ParseDuration(fmt.Sprint(d))
		if err != nil {
			return fmt.Errorf("chaos: -e duration=%v: expected a duration such as 10m", d)
		}
		duration = pd
	}
	seed := uint64(time.Now().UnixNano())
	if s, ok := extra["seed"]; ok {
		n, err := strconv.ParseUint(fmt.Sprint(s), 10, 64)
		if err != nil {
			return fmt.Errorf("chaos: -e seed=%v: expected a number", s)
		}
		seed = n
	}
	count := 0 // faults to run; 0: as many as the duration allows
	if c, ok := extra["count"]; ok {
		n, err := strconv.Atoi(fmt.Sprint(c))
		if err != nil || n < 1 {
			return fmt.Errorf("chaos: -e count=%v: expected a positive number", c)
		}
		count = n
	}
	var gate time.Duration // -e gate_p95=2s: the p95 of the time to writes back may not exceed it
	if g, ok := extra["gate_p95"]; ok {
		d, err := time.ParseDuration(fmt.Sprint(g))
		if err != nil {
			return fmt.Errorf("chaos: -e gate_p95=%v: expected a duration such as 2s", g)
		}
		gate = d
	}
	table, err := Modes()
	if err != nil {
		return err
	}
	modes := ModeNames(table, false)
	if m, ok := extra["modes"]; ok {
		modes = strings.Split(fmt.Sprint(m), ",")
		for _, x := range modes {
			if _, ok := FindMode(table, x); !ok {
				return fmt.Errorf("chaos: -e modes=...: %q is not a drill mode (%s)", x, strings.Join(ModeNames(table, true), ", "))
			}
		}
	}
	plan := Plan(seed, 1000, modes)
	name := fmt.Sprintf("chaos-%d", seed)
	if count > 0 && len(modes) == 1 {
		name = "repeat-" + modes[0]
	}
	dir := filepath.Join(DrillsDir(), name+"-"+time.Now().UTC().Format("20060102-150405"))
	if r, ok := extra["report_dir"]; ok {
		dir = filepath.Join(fmt.Sprint(r), name)
	}
	if err := safefile.MkdirPrivate(dir, 0o755); err != nil {
		return err
	}
	if count > 0 && len(modes) == 1 {
		fmt.Fprintf(stdout, "%d %s drills, each followed by its recovery and verify; reports and logs in %s\n", count, modes[0], dir)
	} else {
		fmt.Fprintf(stdout, "chaos campaign: seed %d, %s, faults drawn from %s; first faults: %s\nreports and logs in %s\n",
			seed, duration, strings.Join(modes, ","), strings.Join(plan[:min(8, len(plan))], " "), dir)
	}
	stress, loaded := extra["stress"] // every drill of the campaign on loaded hosts
	log, err := safefile.Create(filepath.Join(dir, "campaign.log"), 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	play := func(p Play) (int, string) {
		if loaded {
			if p.Vars == nil {
				p.Vars = map[string]string{}
			}
			p.Vars["stress"] = fmt.Sprint(stress)
		}
		code, out := run(p)
		fmt.Fprintf(log, "$ runbook play %s\n%s\n", p, out)
		return code, out
	}
	begin := time.Now()
	var faults []Fault
	broken := 0
	for i := 0; (count == 0 && time.Since(begin) < duration || i < count) && ctx.Err() == nil; i++ {
		mode := plan[i%len(plan)]
		row, _ := FindMode(table, mode)
		fb := time.Now()
		fault := Fault{N: i + 1, Mode: mode, Drill: "ok", Recovery: "ok", Verify: "ok"}
		code, _ := play(Play{Playbook: "failover-drill.yaml", Vars: map[string]string{"mode": mode, "report_dir": dir}})
		if code != 0 {
			fault.Drill = fmt.Sprintf("exit %d", code)
		}
		// without the drill's outcome, assume the worst: it failed over
		// (so the recovery runs) and nothing fenced the old primary
		failedOver := true
		if rep, path := NewestReport(dir, "failover-"+mode); path != "" {
			fault.Lost, fault.Gap, fault.Back, fault.TwoPrimary, fault.Report = rep.Worst.Missing, rep.Worst.LongestGap, rep.Worst.Back, len(rep.Split), path
			fault.Detection = rep.Worst.Detection
			fault.Valid = rep.Verdict == nil || rep.Verdict.Valid
			if o, err := ReadOutcome(path); err == nil && o.Mode == mode {
				failedOver, fault.Fenced = o.FailedOver, o.FencedByCluster
			}
		}
		switch {
		case row.Recovery == "none":
			fault.Recovery = "none needed (" + mode + " fails nothing over)"
		case row.Judge == "partition" && !failedOver:
			fault.Recovery = "none needed (no failover)"
		default:
			recovery := Play{Playbook: row.Recovery}
			if row.Recovery == "recover-primary.yaml" {
				recovery.Limit = "postgres1"
			}
			if c, _ := play(recovery); c != 0 {
				fault.Recovery = fmt.Sprintf("exit %d", c)
			}
		}
		verifyOut := ""
		if c, out := play(Play{Playbook: "verify.yaml"}); c != 0 {
			fault.Verify = fmt.Sprintf("exit %d", c)
			verifyOut = out
		}
		fault.Seconds = time.Since(fb).Seconds()
		partition := row.Judge == "partition"
		if fault.Lost > 0 || !fault.Valid && row.Judge != "corner" || fault.Drill != "ok" || fault.Recovery != "ok" && !strings.HasPrefix(fault.Recovery, "none") ||
			fault.Verify != "ok" || fault.TwoPrimary > 0 && !(partition && fault.Fenced) {
			broken++
		}
		faults = append(faults, fault)
		fmt.Fprintf(stdout, "fault %d %s: lost %d, longest gap %.2f s, two primaries %d%s; recovery %s; verify %s (%.0f s)\n",
			fault.N, mode, fault.Lost, fault.Gap, fault.TwoPrimary, map[bool]string{true: " (fenced)", false: ""}[fault.Fenced],
			fault.Recovery, fault.Verify, fault.Seconds)
		if fault.Verify != "ok" {
			// why, here and not only in the log: the cluster is not whole
			// and later faults would measure nothing
			fmt.Fprintf(stdout, "verify after fault %d failed:\n%s", fault.N, failedLines(verifyOut, 8))
			break
		}
	}
	dist := Distributions(faults)
	if gate > 0 && dist["first_write_back_s"].P95 > gate.Seconds() {
		fmt.Fprintf(stdout, "gate: p95 of the time to writes back %.2f s exceeds -e gate_p95=%s\n", dist["first_write_back_s"].P95, gate)
		broken++
	}
	b, _ := json.MarshalIndent(map[string]any{"seed": seed, "duration_s": duration.Seconds(), "modes": modes, "faults": faults, "broken": broken,
		"distributions": dist, "rto": dist["first_write_back_s"]}, "", "  ")
	if err := safefile.WriteFile(filepath.Join(dir, "campaign.json"), b, 0o644); err != nil {
		return err
	}
	if count > 0 && len(modes) == 1 {
		// a repeated drill is one drill to `runbook drills`: its worst
		// figures, every run's verdict, and the distributions
		if err := writeRepeatReport(dir, name, faults, dist); err != nil {
			return err
		}
	}
	w := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "\nFAULT\tMODE\tLOST\tWRITES BACK\tLONGEST GAP\tTWO PRIMARIES\tRECOVERY\tVERIFY")
	for _, f := range faults {
		back := fmt.Sprintf("%.2f s", f.Back)
		if f.Back < 0 {
			back = "- (no write failed)"
		}
		fmt.Fprintf(w, "%d\t%s\t%d\t%s\t%.2f s\t%d%s\t%s\t%s\n", f.N, f.Mode, f.Lost, back, f.Gap, f.TwoPrimary,
			map[bool]string{true: " fenced", false: ""}[f.Fenced], f.Recovery, f.Verify)
	}
	w.Flush()
	for _, k := range []string{"detection_s", "first_write_back_s", "longest_gap_s"} {
		d := dist[k]
		fmt.Fprintf(stdout, "%s over %d faults: p50 %.2f s, p95 %.2f s, max %.2f s\n", k, d.N, d.P50, d.P95, d.Max)
	}
	fmt.Fprintf(stdout, "%d faults in %s, seed %d: %d broke an invariant; campaign.json in %s\n", len(faults), time.Since(begin).Round(time.Second), seed, broken, dir)
	if broken > 0 {
		return &Broken{Faults: broken}
	}
	return nil
}

// writeRepeatReport writes a repeated drill's report.json: the worst of
// its runs figure by figure, a verdict valid only if every run's was, and
// the time to writes back (rto) as p50/p95/max.
func writeRepeatReport(dir, name string, faults []Fault, dist map[string]spread) error {
	type worst struct {
		Missing    int     `json:"acknowledged_rows_missing"`
		Detection  float64 `json:"detection_s"`
		Back       float64 `json:"first_write_back_s"`
		LongestGap float64 `json:"longest_gap_s"`
	}
	w := worst{Detection: -1, Back: -1}
	valid := len(faults) > 0
	runs := []string{}
	for _, f := range faults {
		w.Missing += f.Lost
		w.Detection, w.Back, w.LongestGap = max(w.Detection, f.Detection), max(w.Back, f.Back), max(w.LongestGap, f.Gap)
		valid = valid && f.Valid && f.Drill == "ok"
		runs = append(runs, f.Report)
	}
	b, err := json.MarshalIndent(map[string]any{"probe": name, "runs": runs, "worst": w,
		"verdict": map[string]any{"valid": valid}, "rto": dist["first_write_back_s"], "distributions": dist}, "", "  ")
	if err != nil {
		return err
	}
	return safefile.WriteFile(filepath.Join(dir, "report.json"), b, 0o644)
}

// spread is one figure's distribution over a campaign's faults.
type spread struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	Max float64 `json:"max"`
}

// Distributions are the faults' detection, time to writes back (the RTO
// as clients see it) and longest gap, each as p50/p95/max; a fault where
// no write failed counts 0.
func Distributions(faults []Fault) map[string]spread {
	out := map[string]spread{}
	for name, get := range map[string]func(Fault) float64{
		"detection_s":        func(f Fault) float64 { return f.Detection },
		"first_write_back_s": func(f Fault) float64 { return f.Back },
		"longest_gap_s":      func(f Fault) float64 { return f.Gap },
	} {
		var v []float64
		for _, f := range faults {
			v = append(v, max(0, get(f)))
		}
		sort.Float64s(v)
		at := func(q float64) float64 {
			if len(v) == 0 {
				return 0
			}
			return v[min(len(v)-1, int(math.Ceil(q*float64(len(v))))-1)]
		}
		out[name] = spread{N: len(v), P50: at(0.50), P95: at(0.95), Max: at(1)}
	}
	return out
}

// Outcome is what failover-drill.yaml writes beside its report
// (outcome.json): whether pgpool failed over and whether the cluster
// fenced the old primary itself.
type Outcome struct {
	Mode            string `json:"mode"`
	FailedOver      bool   `json:"failed_over"`
	FencedByCluster bool   `json:"fenced_by_cluster"`
}

func ReadOutcome(reportDir string) (Outcome, error) {
	var o Outcome
	b, err := inputfile.Read(filepath.Join(reportDir, "outcome.json"))
	if err != nil {
		return o, err
	}
	return o, json.Unmarshal(b, &o)
}

// NewestReport is the latest report.json of a probe under dir.
func NewestReport(dir, probe string) (Report, string) {
	paths, _ := filepath.Glob(filepath.Join(dir, probe+"-*", "report.json"))
	sort.Strings(paths)
	var r Report
	if len(paths) == 0 {
		return r, ""
	}
	p := paths[len(paths)-1]
	if b, err := inputfile.Read(p); err == nil {
		json.Unmarshal(b, &r)
	}
	return r, filepath.Dir(p)
}

// failedLines are a run's failed task results (what a failed verify says),
// at most n, each with the task it belongs to.
func failedLines(out string, n int) string {
	var b strings.Builder
	task := ""
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "TASK ["):
			task = strings.TrimRight(l, " *")
		case (strings.HasPrefix(l, "fatal: [") || strings.HasPrefix(l, "failed: [")) && n > 0:
			n--
			b.WriteString("  " + task + "\n    " + l + "\n")
		}
	}
	return b.String()
}

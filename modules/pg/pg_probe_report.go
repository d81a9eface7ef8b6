package pg

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/runbook-lab/runbook/internal/history"
	"github.com/runbook-lab/runbook/internal/safefile"
	"github.com/runbook-lab/runbook/modules"
)

// ClientFigures are what one probe client saw.
type ClientFigures struct {
	Writes           int     `json:"writes"`
	Acked            int     `json:"acknowledged"`
	Missing          int     `json:"acknowledged_rows_missing"`
	MissingIDs       []int   `json:"missing_ids,omitempty"`
	Unacked          int     `json:"present_but_unacknowledged"`
	DetectionSeconds float64 `json:"detection_s"`        // break to the first error (-1: none)
	WritesBackAfter  float64 `json:"first_write_back_s"` // break to the first ack after an error (-1: none)
	LongestGap       float64 `json:"longest_gap_s"`      // longest time between two acknowledgements
	LatencyMs        struct {
		Before, During, After [2]float64 // p50, p99
	} `json:"latency_ms_p50_p99"`
}

// ProbeReport is the whole drill's report (report.json).
type ProbeReport struct {
	Probe   string                   `json:"probe"`
	BreakAt float64                  `json:"break_at"`
	Clients map[string]ClientFigures `json:"clients"`
	Worst   ClientFigures            `json:"worst"` // the worse of both, figure by figure
	// SplitBrain are the moments (100 ms apart) when more than one node
	// answered that it was a writable primary.
	SplitBrain []SplitMoment `json:"two_writable_primaries"`
	// Table is where the drill wrote (kept: `runbook drills check` reads it
	// again); History the file of every client operation beside this one.
	Table   string           `json:"table"`
	History string           `json:"history"`
	Verdict *history.Verdict `json:"verdict"`
	Events  []ProbeEvent     `json:"events"`
	Roles   []roleSample     `json:"roles,omitempty"`
}

// SplitMoment is a moment with more than one writable primary.
type SplitMoment struct {
	At        float64  `json:"at"`
	Primaries []string `json:"primaries"`
}

// SplitBrain finds the moments when two or more nodes were writable. A
// node's answers are instants; between two consecutive writable answers it
// was writable all along (a node does not go read-only and back within a
// poll period), and an answer alone proves only its instant: a node that
// answers no more (stopped, frozen, cut off) is not assumed writable after
// its last answer. A moment is where two nodes' writable stretches meet;
// one is reported per 100 ms.
func SplitBrain(samples []roleSample) []SplitMoment {
	sort.Slice(samples, func(i, j int) bool { return samples[i].At < samples[j].At })
	type stretch struct{ from, to float64 }
	byNode := map[string][]stretch{}
	last := map[string]roleSample{}
	for _, s := range samples {
		if !s.OK {
			delete(last, s.Node)
			continue
		}
		if s.Writable {
			from := s.At
			if prev, ok := last[s.Node]; ok && prev.Writable {
				from = prev.At
			}
			byNode[s.Node] = append(byNode[s.Node], stretch{from, s.At})
		}
		last[s.Node] = s
	}
	nodes := make([]string, 0, len(byNode))
	for n := range byNode {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	seen := map[int64]int{}
	var out []SplitMoment
	for a := 0; a < len(nodes); a++ {
		for b := a + 1; b < len(nodes); b++ {
			for _, x := range byNode[nodes[a]] {
				for _, y := range byNode[nodes[b]] {
					from, to := max(x.from, y.from), min(x.to, y.to)
					if from > to {
						continue
					}
					bucket := int64(from * 10)
					if k, ok := seen[bucket]; ok {
						out[k].Primaries = appendNew(out[k].Primaries, nodes[a], nodes[b])
						continue
					}
					seen[bucket] = len(out)
					out = append(out, SplitMoment{At: from, Primaries: []string{nodes[a], nodes[b]}})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out
}

// appendNew appends the names not in list yet, keeping it sorted.
func appendNew(list []string, names ...string) []string {
	for _, n := range names {
		if !slices.Contains(list, n) {
			list = append(list, n)
		}
	}
	sort.Strings(list)
	return list
}

func (p *PgProbe) report(ctx context.Context) (*modules.Result, error) {
	probes.Lock()
	pr := probes.byName[p.Name]
	delete(probes.byName, p.Name)
	probes.Unlock()
	if pr == nil {
		return nil, fmt.Errorf("pg_probe: no probe %q was started in this run", p.Name)
	}
	pr.stop()
	events := pr.snapshot()
	present, final, readErr := pr.readBack(ctx)
	if readErr != nil {
		return nil, fmt.Errorf("pg_probe: %w", readErr)
	}
	pr.mu.Lock()
	hist := append(append([]history.Op(nil), pr.hist...), final...)
	pr.mu.Unlock()
	verdict, err := history.Check(hist)
	if err != nil {
		return nil, fmt.Errorf("pg_probe: judging the history: %w", err)
	}
	rep := ProbeReport{Probe: p.Name, BreakAt: p.BreakAt, Clients: map[string]ClientFigures{}, Events: events,
		Table: pr.table, History: "history.json", Verdict: &verdict}
	if p.Drop {
		if err := pr.dropTable(ctx); err != nil {
			return nil, fmt.Errorf("pg_probe: dropping %s: %w", pr.table, err)
		}
		rep.Table = ""
	}
	for _, client := range []string{"kept", "fresh"} {
		var mine []ProbeEvent
		for _, e := range events {
			if e.Client == client {
				mine = append(mine, e)
			}
		}
		rep.Clients[client] = ProbeFigures(mine, present[client], p.BreakAt)
	}
	rep.Worst = worse(rep.Clients["kept"], rep.Clients["fresh"])
	pr.mu.Lock()
	rep.Roles = append([]roleSample(nil), pr.samples...)
	pr.mu.Unlock()
	rep.SplitBrain = SplitBrain(rep.Roles)
	dir, err := writeReport(p.ReportDir, p.Name, rep, hist)
	if err != nil {
		return nil, err
	}
	w := rep.Worst
	// a figure that never happened (no write failed: a slow disk) is "-"
	secs := func(v float64) string {
		if v < 0 {
			return "-"
		}
		return fmt.Sprintf("%.2fs", v)
	}
	msg := fmt.Sprintf("%d acknowledged rows missing (kept %d, fresh %d of %d and %d acknowledged), %d present but never acknowledged; detection %s, writes back %s after the break, longest gap between commits %.2fs (kept %.2fs, fresh %.2fs), commit p99 during the outage %.0f ms; report in %s",
		w.Missing, rep.Clients["kept"].Missing, rep.Clients["fresh"].Missing, rep.Clients["kept"].Acked, rep.Clients["fresh"].Acked,
		w.Unacked, secs(w.DetectionSeconds), secs(w.WritesBackAfter), w.LongestGap, rep.Clients["kept"].LongestGap, rep.Clients["fresh"].LongestGap,
		w.LatencyMs.During[1], dir)
	if len(rep.Roles) > 0 {
		msg += fmt.Sprintf("; %d moments with two writable primaries", len(rep.SplitBrain))
		if len(rep.SplitBrain) > 0 {
			msg += fmt.Sprintf(" (first at +%.2fs: %v)", rep.SplitBrain[0].At-p.BreakAt, rep.SplitBrain[0].Primaries)
		}
	}
	msg += "; " + verdictLine(verdict)
	res := &modules.Result{Msg: msg, Data: map[string]any{"two_primaries": len(rep.SplitBrain), "missing": w.Missing, "unacked": w.Unacked, "longest_gap": w.LongestGap,
		"valid": verdict.Valid, "linearizable": verdict.Linearizable, "lost_ids": verdict.Lost, "visible_then_lost": verdict.VisibleThenLost, "table": rep.Table,
		"detection": w.DetectionSeconds, "writes_back": w.WritesBackAfter, "report_dir": dir,
		"kept_longest_gap": rep.Clients["kept"].LongestGap, "fresh_longest_gap": rep.Clients["fresh"].LongestGap}}
	if w.Missing > 0 || len(rep.SplitBrain) > 0 || !verdict.Valid {
		res.Failed = true
	}
	return res, nil
}

// ProbeFigures measures one client's events against the rows present.
func ProbeFigures(ev []ProbeEvent, present map[int]bool, breakAt float64) ClientFigures {
	f := ClientFigures{Writes: len(ev), DetectionSeconds: -1, WritesBackAfter: -1}
	acked := map[int]bool{}
	lastAck, firstErr := -1.0, -1.0
	var before, during, after []float64
	for _, e := range ev {
		if e.Ack {
			f.Acked++
			acked[e.ID] = true
			if !present[e.ID] {
				f.MissingIDs = append(f.MissingIDs, e.ID)
			}
			if lastAck >= 0 && e.End-lastAck > f.LongestGap {
				f.LongestGap = e.End - lastAck
			}
			lastAck = e.End
			switch {
			case breakAt == 0 || e.Start < breakAt:
				before = append(before, e.Latency)
			case firstErr >= 0 && f.WritesBackAfter < 0 || firstErr < 0 && e.End-breakAt < 30:
				during = append(during, e.Latency)
			default:
				after = append(after, e.Latency)
			}
			if firstErr >= 0 && f.WritesBackAfter < 0 {
				f.WritesBackAfter = e.End - breakAt
			}
		} else if breakAt > 0 && e.End >= breakAt && firstErr < 0 {
			firstErr = e.End
			f.DetectionSeconds = e.End - breakAt
		}
	}
	f.Missing = len(f.MissingIDs)
	for id := range present {
		if !acked[id] {
			f.Unacked++
		}
	}
	f.LatencyMs.Before, f.LatencyMs.During, f.LatencyMs.After = p5099(before), p5099(during), p5099(after)
	return f
}

func p5099(ms []float64) [2]float64 {
	if len(ms) == 0 {
		return [2]float64{}
	}
	sort.Float64s(ms)
	at := func(q float64) float64 { return ms[min(len(ms)-1, int(q*float64(len(ms))))] }
	return [2]float64{at(0.50), at(0.99)}
}

// worse takes, figure by figure, the worse of two clients.
func worse(a, b ClientFigures) ClientFigures {
	w := a
	w.Missing, w.Unacked = a.Missing+b.Missing, max(a.Unacked, b.Unacked)
	w.MissingIDs = append(append([]int(nil), a.MissingIDs...), b.MissingIDs...)
	w.DetectionSeconds = max(a.DetectionSeconds, b.DetectionSeconds)
	w.WritesBackAfter = max(a.WritesBackAfter, b.WritesBackAfter)
	w.LongestGap = max(a.LongestGap, b.LongestGap)
	for i := 0; i < 2; i++ {
		w.LatencyMs.Before[i] = max(a.LatencyMs.Before[i], b.LatencyMs.Before[i])
		w.LatencyMs.During[i] = max(a.LatencyMs.During[i], b.LatencyMs.During[i])
		w.LatencyMs.After[i] = max(a.LatencyMs.After[i], b.LatencyMs.After[i])
	}
	return w
}

// writeReport makes DIR/NAME-TIMESTAMP with report.json, history.json and
// timeline.svg.
func writeReport(base, name string, rep ProbeReport, hist []history.Op) (string, error) {
	dir := filepath.Join(base, name+"-"+time.Now().UTC().Format("20060102-150405"))
	if err := safefile.MkdirPrivate(dir, 0o755); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return "", err
	}
	if err := writeAtomic(filepath.Join(dir, "report.json"), b); err != nil {
		return "", err
	}
	if b, err = json.Marshal(hist); err != nil {
		return "", err
	}
	if err := writeAtomic(filepath.Join(dir, "history.json"), b); err != nil {
		return "", err
	}
	return dir, writeAtomic(filepath.Join(dir, "timeline.svg"), []byte(probeSVG(rep)))
}

func writeAtomic(path string, b []byte) error { return safefile.WriteFile(path, b, 0o644) }

// probeSVG draws both clients' writes on one time axis: acknowledged rows
// green, errors red, the outage shaded, the break marked.
func probeSVG(rep ProbeReport) string {
	if len(rep.Events) == 0 {
		return `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><text x="10" y="25">no writes</text></svg>`
	}
	t0, t1 := rep.Events[0].Start, rep.Events[0].End
	for _, e := range rep.Events {
		t0, t1 = min(t0, e.Start), max(t1, e.End)
	}
	const w, left = 900.0, 60.0
	x := func(t float64) float64 { return left + (t-t0)/(t1-t0+1e-9)*(w-left-10) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="130" font-family="sans-serif" font-size="11">`, w)
	if wc := rep.Worst; rep.BreakAt > 0 {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="10" x2="%.1f" y2="90" stroke="black"/><text x="%.1f" y="105">break</text>`, x(rep.BreakAt), x(rep.BreakAt), x(rep.BreakAt))
		if wc.WritesBackAfter > 0 {
			fmt.Fprintf(&b, `<rect x="%.1f" y="10" width="%.1f" height="80" fill="#f4cccc" opacity="0.6"/>`, x(rep.BreakAt), x(rep.BreakAt+wc.WritesBackAfter)-x(rep.BreakAt))
			fmt.Fprintf(&b, `<text x="%.1f" y="120">first write back +%.2fs</text>`, x(rep.BreakAt+wc.WritesBackAfter), wc.WritesBackAfter)
		}
	}
	for row, client := range []string{"kept", "fresh"} {
		y := 30 + float64(row)*40
		fmt.Fprintf(&b, `<text x="5" y="%.0f">%s</text>`, y+4, client)
		for _, e := range rep.Events {
			if e.Client != client {
				continue
			}
			color := "#2a9d2a"
			if !e.Ack {
				color = "#d62828"
			}
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="%s"/>`, x(e.End), y-8, x(e.End), y+8, color)
		}
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// readBack reads which rows are in the table, on the primary (finalRead).
// Right after a fault pgpool may close a new session at once (a child
// restarting) or refuse it while it fails over: the read is tried again
// for up to 30 s before the drill is called unverifiable.
func (pr *probe) readBack(ctx context.Context) (map[string]map[int]bool, []history.Op, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		present, final, err := pr.finalRead(ctx)
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return present, final, err
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func (pr *probe) dropTable(ctx context.Context) error {
	c, err := pr.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	_, err = c.Exec(ctx, "DROP TABLE "+pr.table)
	return err
}

package history

import (
	"fmt"
	"math"
	"sort"
)

// Verdict is what the checker found (report.json's "verdict").
type Verdict struct {
	// Acknowledged writes whose id is absent from the final read.
	Lost []int `json:"lost"`
	// Writes whose outcome the client never learned, resolved by the final read.
	Indeterminate Resolved `json:"indeterminate"`
	// Ids some client read that are absent from the final read.
	VisibleThenLost []int `json:"visible_then_lost"`
	// The writes and the reads on the primary path (pgpool's primary, and
	// the final read) have a linearization as a grow-only set.
	Linearizable bool   `json:"linearizable"`
	Violation    string `json:"linearizability_violation,omitempty"`
	// Load-balanced reads that missed a write acknowledged before they
	// began: a measure (standbys are asynchronous by design), not a failure.
	StaleReads Staleness `json:"stale_reads"`
	// Valid: nothing lost, nothing seen and lost, linearizable.
	Valid bool `json:"valid"`

	Acknowledged int `json:"acknowledged"`
	Writes       int `json:"writes"`
	Reads        int `json:"reads"`
}

// Resolved counts indeterminate writes by what the final read found.
type Resolved struct {
	Present int `json:"present"`
	Absent  int `json:"absent"`
}

// Staleness measures the load-balanced reads.
type Staleness struct {
	Reads int `json:"reads"`
	Stale int `json:"stale"`
	// how long before the read began the oldest write it missed was acknowledged
	MaxSeconds float64        `json:"max_s"`
	P50Seconds float64        `json:"p50_s"`
	ByNode     map[string]int `json:"stale_by_node,omitempty"`
}

// Check judges a history. Its last ok read with path "final" is the state
// after recovery; a history without one cannot be judged.
func Check(ops []Op) (Verdict, error) {
	cs, err := calls(ops)
	if err != nil {
		return Verdict{}, err
	}
	var final *call
	for i := range cs {
		if cs[i].f == "read" && cs[i].path == "final" && cs[i].typ == "ok" {
			final = &cs[i]
		}
	}
	if final == nil {
		return Verdict{}, fmt.Errorf("the history has no final read (an ok read with path \"final\"): nothing to judge the writes by")
	}
	in := map[int]bool{}
	for _, id := range final.read {
		in[id] = true
	}
	v := Verdict{Lost: []int{}, VisibleThenLost: []int{}}
	seen := map[int]bool{}
	for _, c := range cs {
		switch {
		case c.f == "write":
			v.Writes++
			switch c.typ {
			case "ok":
				v.Acknowledged++
				if !in[c.add] {
					v.Lost = append(v.Lost, c.add)
				}
			case "info":
				if in[c.add] {
					v.Indeterminate.Present++
				} else {
					v.Indeterminate.Absent++
				}
			}
		case c.f == "read" && c.typ == "ok":
			if c.path != "final" {
				v.Reads++
			}
			for _, id := range c.read {
				if !in[id] {
					seen[id] = true
				}
			}
		}
	}
	sort.Ints(v.Lost)
	v.VisibleThenLost = sortedKeys(seen)
	v.StaleReads = staleness(cs)
	var primary []call
	for _, c := range cs {
		if c.f == "write" || c.path == "primary" || c.path == "final" {
			primary = append(primary, c)
		}
	}
	v.Violation = linearizeSet(primary)
	v.Linearizable = v.Violation == ""
	v.Valid = len(v.Lost) == 0 && len(v.VisibleThenLost) == 0 && v.Linearizable
	return v, nil
}

// staleness measures the load-balanced reads against the writes
// acknowledged before each began.
func staleness(cs []call) Staleness {
	s := Staleness{ByNode: map[string]int{}}
	var acked []call
	for _, c := range cs {
		if c.f == "write" && c.typ == "ok" {
			acked = append(acked, c)
		}
	}
	sort.Slice(acked, func(i, j int) bool { return acked[i].ret < acked[j].ret })
	var lags []float64
	for _, r := range cs {
		if r.f != "read" || r.path != "balanced" || r.typ != "ok" {
			continue
		}
		s.Reads++
		has := map[int]bool{}
		for _, id := range r.read {
			has[id] = true
		}
		for _, w := range acked {
			if w.ret >= r.inv {
				break
			}
			if !has[w.add] {
				s.Stale++
				s.ByNode[r.node]++
				lags = append(lags, float64(r.inv-w.ret)/1e9)
				break
			}
		}
	}
	if len(lags) > 0 {
		sort.Float64s(lags)
		s.P50Seconds, s.MaxSeconds = lags[len(lags)/2], lags[len(lags)-1]
	}
	if len(s.ByNode) == 0 {
		s.ByNode = nil
	}
	return s
}

// bound is an instant, or the instant just after it (open).
type bound struct {
	t    float64
	open bool
}

// after says whether b lies after a (a point at b is later than one at a).
func (b bound) after(a bound) bool { return b.t > a.t || b.t == a.t && b.open && !a.open }

// linearizeSet decides whether writes (adds) and full reads of a
// grow-only set have a linearization; "" when they do, else why not.
//
// Reads of a grow-only set must form a chain under inclusion; the reads
// that saw the same set form a group, and the groups are ordered by it. A
// read's point lies in its own interval, after every earlier group's points
// and after the invocation of every id its group is the first to see
// (that write is linearized before it), and before the completion of every
// acknowledged write the next group is the first to see (that write is
// linearized after it). Points only ever need to be as early as possible,
// so one pass in group order decides. Failed writes have no effect; an id
// read with no write invoked for it before the read ended, or only a
// failed one, can be explained by nothing.
func linearizeSet(cs []call) string {
	adds := map[int]call{}
	for _, c := range cs {
		if c.f == "write" && c.typ != "fail" {
			if old, dup := adds[c.add]; !dup || c.inv < old.inv {
				adds[c.add] = c
			}
		}
	}
	var reads []call
	for _, c := range cs {
		if c.f == "read" && c.typ == "ok" {
			reads = append(reads, c)
		}
	}
	for _, r := range reads {
		for _, id := range r.read {
			a, ok := adds[id]
			if !ok {
				return fmt.Sprintf("a read (%s) saw id %d, which no write that did not fail ever added", span(r), id)
			}
			if a.inv > r.ret {
				return fmt.Sprintf("a read (%s) saw id %d before its write was invoked (%s)", span(r), id, span(a))
			}
		}
	}
	sort.SliceStable(reads, func(i, j int) bool { return len(reads[i].read) < len(reads[j].read) })
	sets := make([]map[int]bool, len(reads))
	for i, r := range reads {
		sets[i] = map[int]bool{}
		for _, id := range r.read {
			sets[i][id] = true
		}
	}
	// groups of equal sets, in chain order
	var groups [][]int
	for i := range reads {
		if i > 0 {
			for id := range sets[i-1] {
				if !sets[i][id] {
					return fmt.Sprintf("two reads saw sets neither of which holds the other: %s saw id %d, %s did not (a set that lost a row)", span(reads[i-1]), id, span(reads[i]))
				}
			}
		}
		if i == 0 || len(sets[i]) != len(sets[i-1]) {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], i)
	}
	// fresh[g]: the ids group g is the first to see; fresh[len]: never read
	fresh := make([][]int, len(groups)+1)
	var prev map[int]bool
	for g, members := range groups {
		for id := range sets[members[0]] {
			if !prev[id] {
				fresh[g] = append(fresh[g], id)
			}
		}
		prev = sets[members[0]]
	}
	for id := range adds {
		if !prev[id] {
			fresh[len(groups)] = append(fresh[len(groups)], id)
		}
	}
	last := bound{t: math.Inf(-1)}
	for g, members := range groups {
		lo := last
		lo.open = g > 0 || lo.open // strictly after the previous group's points
		why := "the previous reads"
		for _, id := range fresh[g] {
			if b := (bound{t: float64(adds[id].inv), open: true}); b.after(lo) {
				lo, why = b, fmt.Sprintf("the write of id %d (%s)", id, span(adds[id]))
			}
		}
		hi, hiWhy := bound{t: math.Inf(1)}, ""
		for _, id := range fresh[g+1] {
			a := adds[id]
			if a.typ != "ok" {
				continue // an unacknowledged write may land any time later
			}
			if b := (bound{t: float64(a.ret)}); hi.after(b) {
				hi, hiWhy = b, fmt.Sprintf("id %d, acknowledged at %s", id, secs(a.ret))
			}
		}
		var latest bound
		for k, m := range members {
			r := reads[m]
			p := lo
			if b := (bound{t: float64(r.inv)}); b.after(p) {
				p = b
			}
			if p.after(bound{t: float64(r.ret)}) {
				return fmt.Sprintf("a read (%s) that saw %d ids must come after %s, which it cannot", span(r), len(r.read), why)
			}
			if !hi.after(p) {
				return fmt.Sprintf("a read (%s) lacks %s, before it began", span(r), hiWhy)
			}
			if k == 0 || p.after(latest) {
				latest = p
			}
		}
		last = latest
	}
	return ""
}

func span(c call) string {
	if c.ret < 0 {
		return fmt.Sprintf("invoked at %s, never completed", secs(c.inv))
	}
	return fmt.Sprintf("%s to %s", secs(c.inv), secs(c.ret))
}

func secs(ns int64) string { return fmt.Sprintf("%.3fs", float64(ns)/1e9) }

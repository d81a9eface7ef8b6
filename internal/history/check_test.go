package history

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// h builds a history from "process type f value time [path]" lines; a
// read's value is ids joined by commas ("-" for none).
func h(t *testing.T, lines ...string) []Op {
	t.Helper()
	var ops []Op
	for _, l := range lines {
		var p, at int
		f := strings.Fields(l)
		p = atoi(t, f[0])
		at = atoi(t, f[4])
		op := Op{Process: p, Type: f[1], F: f[2], Time: int64(at) * 1e6}
		if f[2] == "write" {
			op.Value = atoi(t, f[3])
		} else if f[1] == "ok" {
			ids := []int{}
			if f[3] != "-" {
				for _, s := range strings.Split(f[3], ",") {
					ids = append(ids, atoi(t, s))
				}
			}
			op.Value = ids
		}
		if len(f) > 5 {
			op.Path = f[5]
		}
		ops = append(ops, op)
	}
	return ops
}

func atoi(t *testing.T, s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func TestCheckHandWritten(t *testing.T) {
	cases := []struct {
		name   string
		ops    []Op
		valid  bool
		lost   []int
		seen   []int
		indet  Resolved
		linear bool
		stale  int
	}{
		{name: "a clean run", valid: true, linear: true, ops: h(t,
			"0 invoke write 1 0", "0 ok write 1 10",
			"1 invoke read - 5 primary", "1 ok read - 6 primary",
			"1 invoke read - 12 primary", "1 ok read 1 13 primary",
			"0 invoke write 2 20", "0 ok write 2 30",
			"9 invoke read - 40 final", "9 ok read 1,2 41 final")},
		{name: "a lost acknowledgement", lost: []int{2}, linear: false, ops: h(t,
			"0 invoke write 1 0", "0 ok write 1 10",
			"0 invoke write 2 20", "0 ok write 2 30",
			"9 invoke read - 40 final", "9 ok read 1 41 final")},
		{name: "an indeterminate write resolved both ways", valid: true, linear: true, indet: Resolved{Present: 1, Absent: 1}, ops: h(t,
			"0 invoke write 1 0", "0 info write 1 10",
			"3 invoke write 2 20", "3 info write 2 30",
			"9 invoke read - 40 final", "9 ok read 2 41 final")},
		{name: "a row read on the primary and gone after the failover", seen: []int{1}, linear: false, indet: Resolved{Absent: 1}, ops: h(t,
			"0 invoke write 1 0", // commit waits for the synchronous standby
			"1 invoke read - 5 primary", "1 ok read 1 6 primary",
			"0 info write 1 10", // the primary died
			"9 invoke read - 40 final", "9 ok read - 41 final")},
		{name: "a read that misses an acknowledged write on the primary path", linear: false, ops: h(t,
			"0 invoke write 1 0", "0 ok write 1 10",
			"1 invoke read - 12 primary", "1 ok read - 13 primary",
			"9 invoke read - 40 final", "9 ok read 1 41 final")},
		{name: "the same stale read load-balanced: measured, not a failure", valid: true, linear: true, stale: 1, ops: h(t,
			"0 invoke write 1 0", "0 ok write 1 10",
			"1 invoke read - 12 balanced", "1 ok read - 13 balanced",
			"9 invoke read - 40 final", "9 ok read 1 41 final")},
		{name: "a failed write that shows up", linear: false, ops: h(t,
			"0 invoke write 1 0", "0 fail write 1 10",
			"9 invoke read - 40 final", "9 ok read 1 41 final")},
		{name: "reads whose sets cross", linear: false, ops: h(t,
			"0 invoke write 1 0", "2 invoke write 2 1",
			"1 invoke read - 5 primary", "1 ok read 1 6 primary",
			"3 invoke read - 5 primary", "3 ok read 2 7 primary",
			"0 ok write 1 10", "2 ok write 2 11",
			"9 invoke read - 40 final", "9 ok read 1,2 41 final")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := Check(c.ops)
			if err != nil {
				t.Fatal(err)
			}
			if v.Valid != c.valid || v.Linearizable != c.linear || !slices.Equal(v.Lost, orEmpty(c.lost)) ||
				!slices.Equal(v.VisibleThenLost, orEmpty(c.seen)) || v.Indeterminate != c.indet || v.StaleReads.Stale != c.stale {
				t.Errorf("verdict %+v", v)
			}
			if !v.Linearizable && v.Violation == "" {
				t.Error("a violation without a reason")
			}
		})
	}
}

func orEmpty(l []int) []int {
	if l == nil {
		return []int{}
	}
	return l
}

func TestCheckRefusesBrokenHistories(t *testing.T) {
	for name, ops := range map[string][]Op{
		"no final read":      h(t, "0 invoke write 1 0", "0 ok write 1 10"),
		"completion unasked": h(t, "0 ok write 1 10"),
		"two open ops":       h(t, "0 invoke write 1 0", "0 invoke write 2 1"),
		"unknown type":       {{Type: "done", F: "write", Value: 1}},
		"a write of a name":  {{Type: "invoke", F: "write", Value: "x"}},
	} {
		if _, err := Check(ops); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// The checker against an outside one: porcupine (Anish Athalye's
// linearizability checker, the Wing & Gong algorithm with Lowe's
// refinements) decides the same random histories of a grow-only set,
// linearizable ones and corrupted ones alike.
func TestCheckAgreesWithPorcupine(t *testing.T) {
	model := porcupine.Model{
		Init: func() any { return uint64(0) },
		Step: func(state, input, output any) (bool, any) {
			s, in := state.(uint64), input.([2]int)
			if in[0] == 0 { // write id
				return true, s | 1<<in[1]
			}
			return output.(uint64) == s, s
		},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	agree, linear := 0, 0
	for round := 0; round < 3000; round++ {
		ops, pops := randomHistory(rng)
		v, err := Check(ops)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		want := porcupine.CheckOperationsTimeout(model, pops, 10*time.Second)
		if want == porcupine.Unknown {
			continue
		}
		if v.Linearizable != (want == porcupine.Ok) {
			t.Fatalf("round %d: runbook says linearizable=%v (%s), porcupine %v\n%+v", round, v.Linearizable, v.Violation, want, ops)
		}
		agree++
		if v.Linearizable {
			linear++
		}
	}
	if linear < 300 || agree-linear < 300 {
		t.Errorf("the random histories are too one-sided to prove much: %d linearizable of %d", linear, agree)
	}
	t.Logf("%d histories, %d linearizable, the same verdict as porcupine on each", agree, linear)
}

// randomHistory runs up to 4 clients against a real grow-only set (each
// operation takes effect at a random instant inside its interval), then
// perhaps corrupts a read or drops a write. Every event time is distinct
// (porcupine's intervals are closed, the checker's points need not touch).
func randomHistory(rng *rand.Rand) ([]Op, []porcupine.Operation) {
	type planned struct {
		proc, kind, id int // kind 0 write, 1 read
		inv, at, ret   int64
		result         uint64
		info, fail     bool
	}
	var plan []planned
	clock := int64(0)
	tick := func() int64 { clock += 1 + rng.Int64N(3); return clock }
	nextID := 0
	var set uint64
	procs := 2 + rng.IntN(3)
	busyUntil := make([]int64, procs)
	type ev struct {
		t int64
		f func()
	}
	// events are generated in time order by simulating overlapping intervals
	for n := 0; n < 4+rng.IntN(12); n++ {
		p := rng.IntN(procs)
		inv := max(tick(), busyUntil[p]+1)
		at := inv + 1 + rng.Int64N(6)
		ret := at + 1 + rng.Int64N(6)
		busyUntil[p] = ret
		pl := planned{proc: p, inv: inv, at: at, ret: ret}
		if nextID < 60 && rng.IntN(2) == 0 {
			pl.kind, pl.id = 0, nextID
			nextID++
			pl.info = rng.IntN(6) == 0
			pl.fail = !pl.info && rng.IntN(8) == 0
		} else {
			pl.kind = 1
		}
		plan = append(plan, pl)
	}
	// apply in effect order
	order := make([]int, len(plan))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return int(plan[a].at - plan[b].at) })
	for _, i := range order {
		pl := &plan[i]
		if pl.kind == 0 && !pl.fail && !(pl.info && rng.IntN(2) == 0) {
			set |= 1 << pl.id
		} else if pl.kind == 1 {
			pl.result = set
		}
	}
	// corrupt: a read drops or invents an id, or an acknowledged write is lost
	if rng.IntN(2) == 0 {
		reads := []int{}
		for i, pl := range plan {
			if pl.kind == 1 {
				reads = append(reads, i)
			}
		}
		if len(reads) > 0 && nextID > 0 {
			r := reads[rng.IntN(len(reads))]
			plan[r].result ^= 1 << rng.IntN(nextID)
		}
	}
	// distinct times: ties broken in a fixed order, the same for both checkers
	var times []*int64
	for i := range plan {
		times = append(times, &plan[i].inv, &plan[i].ret)
	}
	slices.SortStableFunc(times, func(a, b *int64) int { return int(*a - *b) })
	for i, tp := range times {
		*tp = int64(i+1) * 10
	}
	finalAt := int64(len(times)+10) * 10
	var events []ev
	var ops []Op
	var pops []porcupine.Operation
	toIDs := func(s uint64) []int {
		out := []int{}
		for i := 0; i < 64; i++ {
			if s&(1<<i) != 0 {
				out = append(out, i)
			}
		}
		return out
	}
	for _, pl := range plan {
		pl := pl
		f := map[int]string{0: "write", 1: "read"}[pl.kind]
		var value any = pl.id
		if pl.kind == 1 {
			value = nil
		}
		events = append(events, ev{pl.inv, func() {
			ops = append(ops, Op{Type: "invoke", F: f, Value: value, Time: pl.inv, Process: pl.proc, Path: "primary"})
		}})
		typ := "ok"
		switch {
		case pl.info:
			typ = "info"
		case pl.fail:
			typ = "fail"
		}
		if pl.kind == 1 {
			value = toIDs(pl.result)
		}
		events = append(events, ev{pl.ret, func() {
			ops = append(ops, Op{Type: typ, F: f, Value: value, Time: pl.ret, Process: pl.proc, Path: "primary"})
		}})
		switch {
		case pl.fail:
		case pl.info:
			pops = append(pops, porcupine.Operation{ClientId: pl.proc, Input: [2]int{0, pl.id}, Call: pl.inv, Return: math.MaxInt64})
		case pl.kind == 0:
			pops = append(pops, porcupine.Operation{ClientId: pl.proc, Input: [2]int{0, pl.id}, Call: pl.inv, Return: pl.ret})
		default:
			pops = append(pops, porcupine.Operation{ClientId: pl.proc, Input: [2]int{1, 0}, Output: pl.result, Call: pl.inv, Return: pl.ret})
		}
	}
	slices.SortStableFunc(events, func(a, b ev) int { return int(a.t - b.t) })
	for _, e := range events {
		e.f()
	}
	// the final read sees the set as it ended (unless corrupted above)
	ops = append(ops, Op{Type: "invoke", F: "read", Time: finalAt, Process: 99, Path: "final"},
		Op{Type: "ok", F: "read", Value: toIDs(set), Time: finalAt + 1, Process: 99, Path: "final"})
	pops = append(pops, porcupine.Operation{ClientId: 99, Input: [2]int{1, 0}, Output: set, Call: finalAt, Return: finalAt + 1})
	return ops, pops
}

// Any bytes: a history or a clear error, never a panic.
func FuzzCheck(f *testing.F) {
	f.Add([]byte(`[{"type":"invoke","f":"write","value":1,"time":0,"process":0},{"type":"ok","f":"write","value":1,"time":5,"process":0},{"type":"invoke","f":"read","value":null,"time":9,"process":1,"path":"final"},{"type":"ok","f":"read","value":[1],"time":10,"process":1,"path":"final"}]`))
	f.Add([]byte(`[{"type":"ok","f":"read","value":[1,2,"x"],"process":3}]`))
	f.Add([]byte(`[{"type":"invoke","f":"write","value":1e300,"time":-5,"process":-1}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var ops []Op
		if json.Unmarshal(b, &ops) != nil {
			return
		}
		Check(ops)
	})
}

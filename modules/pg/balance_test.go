package pg

import (
	"strings"
	"testing"
)

// The judgement of a load-balancing sample: counts near each up backend's
// share pass; a skewed spread, reads from a down node or a write off the
// primary fail with the numbers.
func TestBalanceJudge(t *testing.T) {
	b := &PgpoolBalance{Sessions: 300, Tolerance: 4}
	nodes := []backend{{"10.0.0.1", "primary", "up", 1}, {"10.0.0.2", "standby", "up", 1}, {"10.0.0.3", "standby", "up", 1}}
	cases := []struct {
		counts map[string]int
		write  string
		fail   string
	}{
		{map[string]int{"10.0.0.1": 95, "10.0.0.2": 108, "10.0.0.3": 97}, "10.0.0.1", ""},
		{map[string]int{"10.0.0.1": 300}, "10.0.0.1", "10.0.0.2 served 0 reads"},
		{map[string]int{"10.0.0.1": 100, "10.0.0.2": 100, "10.0.0.3": 100}, "10.0.0.2", "the write was served by 10.0.0.2"},
		{map[string]int{"10.0.0.1": 100, "10.0.0.2": 100, "10.0.0.9": 100}, "10.0.0.1", "pgpool does not list"},
	}
	for _, c := range cases {
		r := b.judge(nodes, c.counts, c.write)
		if c.fail == "" && r.Failed || c.fail != "" && (!r.Failed || !strings.Contains(r.Msg, c.fail)) {
			t.Errorf("%v write %s: failed=%v %s", c.counts, c.write, r.Failed, r.Msg)
		}
	}
	// weights 2:1:0 with the third down: shares 2/3 and 1/3
	skew := []backend{{"a", "primary", "up", 2}, {"b", "standby", "up", 1}, {"c", "standby", "down", 1}}
	if r := b.judge(skew, map[string]int{"a": 205, "b": 95}, "a"); r.Failed {
		t.Errorf("weights 2:1: %s", r.Msg)
	}
	if r := b.judge(skew, map[string]int{"a": 150, "b": 150}, "a"); !r.Failed {
		t.Errorf("an even spread under weights 2:1 passed: %s", r.Msg)
	}
	// pgpool's weights are not the intended ones (a weight 0 read as 1)
	b.Weights = map[string]float64{"a": 0, "b": 1, "c": 1}
	if r := b.judge(skew, map[string]int{"a": 205, "b": 95}, "a"); !r.Failed || !strings.Contains(r.Msg, "intended") {
		t.Errorf("weights differing from the intended ones passed: %s", r.Msg)
	}
}

// The sample sized from the weights: three equal weights need 72
// sessions; with that many, a backend that serves nothing fails the
// judge and one that serves its share passes.
func TestSoundSessions(t *testing.T) {
	up := func(host string, w float64) backend {
		return backend{host: host, role: "standby", status: "up", weight: w}
	}
	for _, c := range []struct {
		nodes []backend
		want  int
	}{
		{[]backend{up("a", 1), up("b", 1), up("c", 1)}, 72},
		{[]backend{up("a", 0), up("b", 1), up("c", 1)}, 36},
		{[]backend{up("a", 1), up("b", 9)}, 324},
		{[]backend{up("a", 1)}, 20},
		{[]backend{up("a", 1), {host: "b", status: "down", weight: 1}}, 20},
	} {
		n := soundSessions(c.nodes, 4)
		if n != c.want {
			t.Errorf("%v: %d sessions, want %d", c.nodes, n, c.want)
		}
	}
	nodes := []backend{{host: "a", role: "primary", status: "up", weight: 1}, up("b", 1), up("c", 1)}
	b := &PgpoolBalance{Sessions: soundSessions(nodes, 4), Tolerance: 4}
	if r := b.judge(nodes, map[string]int{"a": 24, "b": 24, "c": 24}, "a"); r.Failed {
		t.Errorf("an even spread failed: %s", r.Msg)
	}
	if r := b.judge(nodes, map[string]int{"a": 36, "b": 36, "c": 0}, "a"); !r.Failed {
		t.Errorf("a backend with no reads passed: %s", r.Msg)
	}
}

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

// The sample sized from the weights: three equal weights need 26
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
		{[]backend{up("a", 1), up("b", 1), up("c", 1)}, 26},
		{[]backend{up("a", 0), up("b", 1), up("c", 1)}, 20},
		{[]backend{up("a", 1), up("b", 9)}, 99},
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
	for _, even := range []map[string]int{{"a": 9, "b": 9, "c": 8}, {"a": 4, "b": 12, "c": 10}} {
		if r := b.judge(nodes, even, "a"); r.Failed {
			t.Errorf("%v: a spread within chance failed: %s", even, r.Msg)
		}
	}
	if r := b.judge(nodes, map[string]int{"a": 13, "b": 13, "c": 0}, "a"); !r.Failed || !strings.Contains(r.Msg, "c served 0 reads") {
		t.Errorf("a backend with no reads passed: %s", r.Msg)
	}
	if r := b.judge(nodes, map[string]int{"a": 26}, "a"); !r.Failed {
		t.Errorf("every read on the primary passed: %s", r.Msg)
	}
	// the false-alarm rate is the tolerance's: the chance that a fair
	// sample fails, summed exactly over every outcome, is below 1 in 10,000
	// per backend
	n := b.Sessions
	fail := 0.0
	for k := 0; k <= n; k++ {
		below, above := binomialTails(n, k, 1.0/3)
		if lim := tailChance(4) / 2; below < lim || above < lim {
			pk, _ := binomialTails(n, k, 1.0/3)
			pk1 := 0.0
			if k > 0 {
				pk1, _ = binomialTails(n, k-1, 1.0/3)
			}
			fail += pk - pk1
		}
	}
	if fail > 1e-4 || fail <= 0 {
		t.Errorf("a fair backend fails with chance %g", fail)
	}
}

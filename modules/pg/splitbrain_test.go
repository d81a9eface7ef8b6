package pg

import "testing"

func samplesOf(node string, writable bool, ok bool, at ...float64) []roleSample {
	var out []roleSample
	for _, t := range at {
		out = append(out, roleSample{Node: node, At: t, Writable: writable, OK: ok})
	}
	return out
}

func TestSplitBrain(t *testing.T) {
	join := func(parts ...[]roleSample) []roleSample {
		var out []roleSample
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	cases := []struct {
		name    string
		samples []roleSample
		want    bool
	}{
		{"two primaries answering in turn", join(samplesOf("a", true, true, 0, 0.1, 0.2, 0.3), samplesOf("b", true, true, 0.05, 0.15, 0.25)), true},
		{"both writable at one instant", join(samplesOf("a", true, true, 1), samplesOf("b", true, true, 1)), true},
		{"old primary frozen before the promotion (answers no more)", join(samplesOf("a", true, true, 0, 0.1, 0.2), samplesOf("b", false, true, 0, 0.1, 0.2), samplesOf("b", true, true, 0.3, 0.4, 0.5)), false},
		{"old primary fails, the standby is promoted later", join(samplesOf("a", true, true, 0, 0.1), samplesOf("a", false, false, 0.2, 0.3), samplesOf("b", false, true, 0, 0.1, 0.2), samplesOf("b", true, true, 0.3, 0.4)), false},
		{"the old primary comes back writable after the promotion", join(samplesOf("a", true, true, 0, 0.1), samplesOf("a", false, false, 0.2), samplesOf("b", true, true, 0.3, 0.4, 0.5, 0.6), samplesOf("a", true, true, 0.45, 0.55)), true},
		{"no samples", nil, false},
	}
	for _, c := range cases {
		got := SplitBrain(c.samples)
		if (len(got) > 0) != c.want {
			t.Errorf("%s: %v", c.name, got)
		}
	}
}

package pg_test

import (
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/modules/pg"
)

func TestDrillFigures(t *testing.T) {
	log := "ack 1 100.0\nack 2 100.1\nerr 3 100.5\nerr 4 100.9\nack 5 101.2\nack 6 101.3\ndone\n"
	ev := pg.ParseWriterLog(log)
	f := pg.Figures(ev, map[int]bool{1: true, 2: true, 4: true, 6: true}, 100.3)
	if f.Acked != 4 || f.Missing != 1 || f.MissingIDs[0] != 5 || f.Unacked != 1 {
		t.Errorf("counts %+v", f)
	}
	if d := f.DetectionSeconds; d < 0.19 || d > 0.21 {
		t.Errorf("detection %v", d)
	}
	if r := f.RecoverySeconds; r < 0.89 || r > 0.91 {
		t.Errorf("recovery %v", r)
	}
	if len(f.Outages) != 1 || f.Outages[0] < 0.69 || f.Outages[0] > 0.71 {
		t.Errorf("outages %v", f.Outages)
	}
	svg := pg.TimelineSVG(ev, 100.3, f)
	if !strings.HasPrefix(svg, "<svg") || strings.Count(svg, `stroke="#d22"`) != 2 || !strings.Contains(svg, "write outages: 0.70 s") {
		t.Errorf("svg:\n%s", svg)
	}
}

package lab

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/runbook-lab/runbook/playbooks"
)

// DrillsDir is where the drills' reports go unless -e report_dir= says
// otherwise: beside the lab record, so `runbook drills` finds them.
func DrillsDir() string {
	p := RecordPath()
	if p == "" {
		return "."
	}
	return filepath.Join(filepath.Dir(p), "drills")
}

// IsDrill says whether an embedded playbook writes a drill report.
func IsDrill(embedded string) bool {
	return embedded == "failover-drill.yaml" || embedded == "failback-drill.yaml"
}

// Report is the part of a report.json the list shows.
type Report struct {
	Probe string `json:"probe"`
	Worst struct {
		Writes     int     `json:"writes"`
		Acked      int     `json:"acknowledged"`
		Missing    int     `json:"acknowledged_rows_missing"`
		Detection  float64 `json:"detection_s"`
		Back       float64 `json:"first_write_back_s"`
		LongestGap float64 `json:"longest_gap_s"`
	} `json:"worst"`
	Split   []json.RawMessage `json:"two_writable_primaries"`
	Verdict *struct {
		Valid bool  `json:"valid"`
		Lost  []int `json:"lost"`
	} `json:"verdict"`
}

// Mode is one row of the embedded vars/drills.yaml, the table
// failover-drill.yaml's conditions read: the campaign takes its faults,
// their recovery and how to judge them from the same rows.
type Mode struct {
	Name     string `yaml:"-"`
	Target   string `yaml:"target"`
	Breaks   string `yaml:"breaks"`
	Judge    string `yaml:"judge"` // strict, partition or corner
	Failover bool   `yaml:"failover"`
	Recovery string `yaml:"recovery"` // a playbook, or none
	Corner   bool   `yaml:"corner"`
}

// Modes reads the table in its written order (a seed's fault
// sequence depends on it).
func Modes() ([]Mode, error) {
	b, err := fs.ReadFile(playbooks.Embedded, "vars/drills.yaml")
	if err != nil {
		return nil, err
	}
	var doc struct {
		Modes yaml.Node `yaml:"drill_modes"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("vars/drills.yaml: %w", err)
	}
	var modes []Mode
	for i := 0; i+1 < len(doc.Modes.Content); i += 2 {
		var m Mode
		if err := doc.Modes.Content[i+1].Decode(&m); err != nil {
			return nil, fmt.Errorf("vars/drills.yaml: %s: %w", doc.Modes.Content[i].Value, err)
		}
		m.Name = doc.Modes.Content[i].Value
		modes = append(modes, m)
	}
	if len(modes) == 0 {
		return nil, fmt.Errorf("vars/drills.yaml: no drill_modes")
	}
	return modes, nil
}

// ModeNames are the names of the modes a campaign draws from unasked
// (corner false) or, with corner true, of every mode.
func ModeNames(modes []Mode, corner bool) []string {
	var out []string
	for _, m := range modes {
		if corner || !m.Corner {
			out = append(out, m.Name)
		}
	}
	return out
}

// FindMode is the row of a mode.
func FindMode(modes []Mode, name string) (Mode, bool) {
	for _, m := range modes {
		if m.Name == name {
			return m, true
		}
	}
	return Mode{}, false
}

// CompareLast sets each drill's newest run (reports oldest first) beside
// the run of the same drill before it: what got better or worse.
func CompareLast(reports []Report) []string {
	last := map[string]int{}
	prev := map[string]int{}
	var order []string
	for i, r := range reports {
		if j, seen := last[r.Probe]; seen {
			prev[r.Probe] = j
		} else {
			order = append(order, r.Probe)
		}
		last[r.Probe] = i
	}
	verdict := func(r Report) string {
		if r.Verdict == nil {
			return "-"
		}
		return map[bool]string{true: "valid", false: "INVALID"}[r.Verdict.Valid]
	}
	var out []string
	for _, name := range order {
		j, ok := prev[name]
		if !ok {
			continue
		}
		n, p := reports[last[name]].Worst, reports[j].Worst
		out = append(out, fmt.Sprintf("%s, last run against the one before: lost %d (was %d), writes back %.2f s (was %.2f s), longest gap %.2f s (was %.2f s), verdict %s (was %s)",
			name, n.Missing, p.Missing, n.Back, p.Back, n.LongestGap, p.LongestGap, verdict(reports[last[name]]), verdict(reports[j])))
	}
	return out
}

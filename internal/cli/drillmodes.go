package cli

import (
	"fmt"
	"io/fs"

	"go.yaml.in/yaml/v3"

	"github.com/runbook-lab/runbook/playbooks"
)

// drillMode is one row of the embedded vars/drills.yaml, the table
// failover-drill.yaml's conditions read: the campaign takes its faults,
// their recovery and how to judge them from the same rows.
type drillMode struct {
	Name     string `yaml:"-"`
	Target   string `yaml:"target"`
	Breaks   string `yaml:"breaks"`
	Judge    string `yaml:"judge"` // strict, partition or corner
	Failover bool   `yaml:"failover"`
	Recovery string `yaml:"recovery"` // a playbook, or none
	Corner   bool   `yaml:"corner"`
}

// drillModes reads the table in its written order (a seed's fault
// sequence depends on it).
func drillModes() ([]drillMode, error) {
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
	var modes []drillMode
	for i := 0; i+1 < len(doc.Modes.Content); i += 2 {
		var m drillMode
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

// modeNames are the names of the modes a campaign draws from unasked
// (corner false) or, with corner true, of every mode.
func modeNames(modes []drillMode, corner bool) []string {
	var out []string
	for _, m := range modes {
		if corner || !m.Corner {
			out = append(out, m.Name)
		}
	}
	return out
}

func findMode(modes []drillMode, name string) (drillMode, bool) {
	for _, m := range modes {
		if m.Name == name {
			return m, true
		}
	}
	return drillMode{}, false
}

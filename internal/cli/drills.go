package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runbook-lab/runbook/internal/inputfile"
)

// drillsDir is where the drills' reports go unless -e report_dir= says
// otherwise: beside the lab record, so `runbook drills` finds them.
func drillsDir() string {
	p := labRecordPath()
	if p == "" {
		return "."
	}
	return filepath.Join(filepath.Dir(p), "drills")
}

// isDrill says whether an embedded playbook writes a drill report.
func isDrill(embedded string) bool {
	return embedded == "failover-drill.yaml" || embedded == "failback-drill.yaml"
}

// drillReport is the part of a report.json the list shows.
type drillReport struct {
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

// drillsCmd is `runbook drills`: the past drills with their figures.
func (a *app) drillsCmd() *cobra.Command {
	var dir, output string
	cmd := &cobra.Command{
		Use:   "drills",
		Short: "List past drills (failover-drill.yaml, failback-drill.yaml) with their figures, newest last",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if dir == "" {
				dir = drillsDir()
			}
			paths, _ := filepath.Glob(filepath.Join(dir, "*", "report.json"))
			stamp := func(p string) string { // NAME-YYYYMMDD-HHMMSS: the time
				b := filepath.Base(filepath.Dir(p))
				if i := strings.LastIndex(b, "-"); i >= 8 {
					return b[i-8:]
				}
				return b
			}
			sort.SliceStable(paths, func(i, j int) bool { return stamp(paths[i]) < stamp(paths[j]) })
			type row struct {
				Dir    string      `json:"dir"`
				Report drillReport `json:"report"`
			}
			var rows []row
			for _, p := range paths {
				b, err := inputfile.Read(p)
				if err != nil {
					continue
				}
				var r drillReport
				if json.Unmarshal(b, &r) != nil {
					fmt.Fprintf(a.stderr, "[WARNING]: %s is not a drill report\n", p)
					continue
				}
				rows = append(rows, row{filepath.Dir(p), r})
			}
			if output == "json" {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			if len(rows) == 0 {
				fmt.Fprintf(a.stdout, "no drill reports in %s (runbook play failover-drill.yaml -e mode=kill makes one)\n", dir)
				return nil
			}
			w := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(w, "DRILL\tWHEN (UTC)\tLOST\tACKED\tDETECTED\tWRITES BACK\tLONGEST GAP\tTWO PRIMARIES\tVERDICT\tREPORT")
			for _, r := range rows {
				base := filepath.Base(r.Dir)
				when := "?"
				if i := strings.LastIndex(base, "-"); i >= 8 {
					when = base[i-8:] // NAME-YYYYMMDD-HHMMSS
				}
				fig := func(v float64) string {
					if v < 0 {
						return "-"
					}
					return fmt.Sprintf("%.2f s", v)
				}
				verdict := "-"
				if v := r.Report.Verdict; v != nil {
					verdict = map[bool]string{true: "valid", false: "INVALID"}[v.Valid]
				}
				fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%d\t%s\t%s\n", r.Report.Probe, when, r.Report.Worst.Missing, r.Report.Worst.Acked,
					fig(r.Report.Worst.Detection), fig(r.Report.Worst.Back), fig(r.Report.Worst.LongestGap), len(r.Report.Split), verdict, r.Dir)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			reports := make([]drillReport, len(rows))
			for i, r := range rows {
				reports[i] = r.Report
			}
			for _, line := range compareLast(reports) {
				fmt.Fprintln(a.stdout, line)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "where the reports are (default: beside the lab record, "+drillsDir()+")")
	cmd.Flags().StringVar(&output, "output", "text", "text or json")
	cmd.AddCommand(a.drillCheckCmd())
	return cmd
}

// drillCheckCmd is `runbook drills check DIR`: drill-check.yaml on the
// drill in DIR; exit 1 when the verdict is invalid.
func (a *app) drillCheckCmd() *cobra.Command {
	cmd := a.embeddedCmd("check DIR", "drill-check.yaml",
		"Judge a past drill again: its history.json against its table as it is now on the primary (exit 1 naming lost rows)")
	cmd.Args = cobra.ExactArgs(1)
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		dir, err := filepath.Abs(args[0])
		if err != nil {
			return err
		}
		b, _ := json.Marshal(map[string]string{"drill_dir": dir})
		if err := c.Flags().Set("extra-vars", string(b)); err != nil {
			return err
		}
		return run(c, nil)
	}
	return cmd
}

// compareLast sets each drill's newest run (reports oldest first) beside
// the run of the same drill before it: what got better or worse.
func compareLast(reports []drillReport) []string {
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
	verdict := func(r drillReport) string {
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

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
	"github.com/runbook-lab/runbook/lab"
)

// drillsCmd is `runbook drills`: the past drills with their figures.
func (a *app) drillsCmd() *cobra.Command {
	var dir, output string
	cmd := &cobra.Command{
		Use:   "drills",
		Short: "List past drills (failover-drill.yaml, failback-drill.yaml) with their figures, newest last",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if dir == "" {
				dir = lab.DrillsDir()
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
				Dir    string     `json:"dir"`
				Report lab.Report `json:"report"`
			}
			var rows []row
			for _, p := range paths {
				b, err := inputfile.Read(p)
				if err != nil {
					continue
				}
				var r lab.Report
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
			reports := make([]lab.Report, len(rows))
			for i, r := range rows {
				reports[i] = r.Report
			}
			for _, line := range lab.CompareLast(reports) {
				fmt.Fprintln(a.stdout, line)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "where the reports are (default: beside the lab record, "+lab.DrillsDir()+")")
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

package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runbook-lab/runbook/convert"
	"github.com/runbook-lab/runbook/modules"
)

// convertCmd is `runbook convert SRC... -o DIR`: Ansible playbooks, roles
// and Jinja2 templates rewritten into runbook's language, then every
// converted playbook checked as `play --syntax-check` would.
func (a *app) convertCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "convert SRC... -o DIR",
		Short: "Rewrite Ansible playbooks, roles and Jinja2 templates into runbook's language (Go templates)",
		Long: `convert mirrors each SRC (a file or a folder: playbooks, roles, group_vars...) into DIR:
YAML files get their Jinja2 expressions as Go templates, .j2 templates are converted whole
(if, for, set, filters, tests; Ansible's trim_blocks), other files are copied. Conditions
(when, changed_when, failed_when, until, assert's that) stay as they are: runbook reads
Ansible's condition language. Every construct it could not convert is listed with
file:line:col, and each converted playbook is then syntax-checked. Exit status 2 when
anything is listed.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("convert: give the output folder with -o DIR")
			}
			known := func(m string) bool { _, ok := modules.Default.Lookup(m); return ok }
			r, err := convert.Tree(args, out, known)
			if err != nil {
				return err
			}
			for _, is := range r.Issues {
				fmt.Fprintln(a.stdout, is.String())
			}
			failed := 0
			for _, pb := range r.Playbooks {
				loader := newLoader()
				loader.Dynamic = true // as play --syntax-check judges it
				if _, err := loader.Load(pb); err != nil {
					failed++
					fmt.Fprintf(a.stdout, "%s: after convert, the syntax check finds:\n%v\n", pb, err)
				}
			}
			fmt.Fprintf(a.stdout, "%s; %d of %d playbooks pass runbook play --syntax-check\n", r.Summary(), len(r.Playbooks)-failed, len(r.Playbooks))
			if len(r.Issues) > 0 || failed > 0 {
				return &exitError{code: 2}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "the folder the converted tree goes to")
	return cmd
}

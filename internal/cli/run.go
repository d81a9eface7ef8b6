package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runbook-lab/runbook/internal/diag"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/runner"
)

func (a *app) runCmd() *cobra.Command {
	var f runFlags
	var module, args, becomeUser string
	cmd := &cobra.Command{
		Use:   "run PATTERN -m MODULE -a ARGS",
		Short: "Run one module on hosts (ad-hoc, like `ansible PATTERN -m ... -a ...`)",
		Example: `  runbook run postgres2 -m systemd -a 'name=postgresql state=restarted'
  runbook run all -m command -a 'systemctl is-system-running'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, pos []string) error {
			text := fmt.Sprintf("- hosts: %q\n  gather_facts: false\n  tasks:\n    - name: %q\n      %s: %s\n",
				pos[0], module+" "+args, module, yamlArgs(args))
			if f.become {
				text = fmt.Sprintf("- hosts: %q\n  gather_facts: false\n  become: true\n  become_user: %q\n  tasks:\n    - name: %q\n      %s: %s\n",
					pos[0], becomeUser, module+" "+args, module, yamlArgs(args))
			}
			if _, ok := modules.Default.Lookup(module); !ok {
				return fmt.Errorf("-m: unknown module %q%s", module, diag.DidYouMean(module, modules.Default.IDs()))
			}
			pb, err := newLoader().LoadText("command line", []byte(text))
			if err != nil {
				return err
			}
			inv, err := f.loadInventoryFor(a, "")
			if err != nil {
				return err
			}
			if _, err := inv.Select(pos[0]); err != nil {
				return err
			}
			f.verbose = max(f.verbose, 1) // ad-hoc runs are for reading the output
			opt, err := f.options(a, inv)
			if err != nil {
				return err
			}
			stats, err := runner.Run(cmd.Context(), pb, opt)
			if err != nil {
				return err
			}
			if code := stats.ExitCode(); code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
	f.add(cmd)
	f.vault.withVault(a, cmd)
	fl := cmd.Flags()
	fl.StringVarP(&module, "module-name", "m", "command", "module to run")
	fl.StringVarP(&args, "args", "a", "", "module arguments: key=value words, or the command for command/shell")
	fl.StringVar(&becomeUser, "become-user", "root", "user to become")
	cmd.ValidArgsFunction = completeHosts(&f)
	cmd.RegisterFlagCompletionFunc("module-name", completeModules)
	cmd.RegisterFlagCompletionFunc("limit", completeHosts(&f))
	return cmd
}

// yamlArgs quotes -a text as one YAML scalar (k=v words or free form): a
// JSON string is a valid YAML double-quoted scalar on one line, whatever it
// holds (newlines, quotes, colons).
func yamlArgs(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

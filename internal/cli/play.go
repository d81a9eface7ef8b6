package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runbook-lab/runbook/internal/safefile"
	"github.com/runbook-lab/runbook/inventory"
	"github.com/runbook-lab/runbook/lab"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/playbooks"
	"github.com/runbook-lab/runbook/runner"
)

// embeddedName is the embedded playbook a PLAYBOOK argument names (no such
// file exists and the embedded set has it), or "".
// A bare name is the embedded one even beside a file of that name (the
// loader reads it so); a path is the file when there is one.
func embeddedName(arg string) string {
	if _, err := os.Stat(arg); err == nil && !playbooks.IsBareName(arg) {
		return ""
	}
	name := strings.TrimPrefix(filepath.ToSlash(arg), "./")
	if _, err := fs.Stat(playbooks.Embedded, name); err != nil {
		return ""
	}
	return name
}

func newLoader() *playbooks.Loader {
	return &playbooks.Loader{Embedded: playbooks.Embedded, Catalog: runner.Catalog{Reg: modules.Default}}
}

// statusCmd is `runbook status`: the embedded status.yaml (reads only).
func (a *app) statusCmd() *cobra.Command {
	cmd := a.embeddedCmd("status", "status.yaml", "The live lab in one screen: roles, timelines, streaming and lag, pgpool's view, agreement, the last drill")
	var svg string
	cmd.Flags().StringVar(&svg, "svg", "", "also draw the topology as an SVG picture into this file (on this machine)")
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if svg != "" {
			v, _ := json.Marshal(map[string]string{"status_svg": svg})
			if err := c.Flags().Set("extra-vars", string(v)); err != nil {
				return err
			}
		}
		err := run(c, args)
		a.lastDrill()
		return err
	}
	return cmd
}

// lastDrill prints the newest drill report's figures (runbook drills lists
// them all).
func (a *app) lastDrill() {
	paths, _ := filepath.Glob(filepath.Join(lab.DrillsDir(), "*", "report.json"))
	var newest string
	var when string
	for _, p := range paths {
		b := filepath.Base(filepath.Dir(p))
		if i := strings.LastIndex(b, "-"); i >= 8 && b[i-8:] > when {
			newest, when = p, b[i-8:]
		}
	}
	if newest == "" {
		fmt.Fprintln(a.stdout, "last drill: none yet (runbook play failover-drill.yaml -e mode=kill)")
		return
	}
	r, _ := lab.NewestReport(filepath.Dir(filepath.Dir(newest)), strings.TrimSuffix(filepath.Base(filepath.Dir(newest)), "-"+when))
	verdict := "no verdict (a report from before histories)"
	if r.Verdict != nil {
		verdict = map[bool]string{true: "verdict valid", false: "verdict INVALID"}[r.Verdict.Valid]
	}
	fmt.Fprintf(a.stdout, "last drill: %s at %s UTC: %d acknowledged rows lost, longest gap %.2f s, %d moments with two primaries, %s (%s)\n",
		r.Probe, when, r.Worst.Missing, r.Worst.LongestGap, len(r.Split), verdict, filepath.Dir(newest))
}

// verifyCmd is `runbook verify`: the embedded verify.yaml, with play's flags.
func (a *app) verifyCmd() *cobra.Command {
	return a.embeddedCmd("verify", "verify.yaml", "Compare the live lab with the intended one (the embedded verify.yaml)")
}

// embeddedCmd is a command that plays one embedded playbook, with play's flags.
func (a *app) embeddedCmd(use, playbook, short string) *cobra.Command {
	cmd := a.playCmd()
	cmd.Use, cmd.Short, cmd.Args = use, short, cobra.NoArgs
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, _ []string) error {
		err := run(c, []string{playbook})
		// a check that fails is the answer "no", exit 1 (as test(1) and
		// pg_isready); an unreachable host keeps its own code
		var ee *exitError
		if errors.As(err, &ee) && ee.code == 2 {
			return &exitError{code: 1}
		}
		return err
	}
	return cmd
}

func (a *app) playCmd() *cobra.Command {
	var f runFlags
	var tags, skipTags []string
	var startAt string
	var listTasks, listHosts, listTags, syntaxCheck, noHandlersOnFailure bool
	cmd := &cobra.Command{
		Use:   "play PLAYBOOK",
		Short: "Run a playbook (a file, or the name of an embedded one: see runbook list)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			extra, err := f.extraVars()
			if err != nil {
				return err
			}
			loader := newLoader()
			loader.ExtraVars = extra // a templated role name may use them
			loader.Dynamic = syntaxCheck
			pb, err := loader.Load(args[0])
			if err != nil {
				return err
			}
			for _, w := range loader.Warnings {
				fmt.Fprintf(a.stderr, "[WARNING]: a dynamic include that fails where it runs (as ansible-playbook, --syntax-check does not refuse it; a run does, before any host):\n%s\n", w)
			}
			if name := embeddedName(args[0]); name != "" && playbooks.IsBareName(args[0]) {
				if _, err := os.Lstat(args[0]); err == nil {
					fmt.Fprintf(a.stderr, "runbook: running the embedded %s; a file of that name is in this folder (write ./%s to run it)\n", name, name)
				}
			}
			if syntaxCheck {
				fmt.Fprintf(a.stdout, "playbook: %s: syntax OK (%d plays)\n", args[0], len(pb.Plays))
				return nil
			}
			if listTasks {
				return printTasks(a, pb, runner.Selection{Tags: tags, Skip: skipTags, StartAt: startAt})
			}
			if listTags {
				printTags(a, pb)
				return nil
			}
			inv, err := f.loadInventoryFor(a, args[0])
			if err != nil {
				return err
			}
			if embeddedName(args[0]) == "chaos.yaml" && !listHosts && !f.check {
				extra, err := f.extraVars()
				if err != nil {
					return err
				}
				return a.chaos(cmd.Context(), &f, extra)
			}
			if embeddedName(args[0]) == "failover-drill.yaml" && !listHosts && !f.check {
				extra, err := f.extraVars()
				if err != nil {
					return err
				}
				if n, _ := strconv.Atoi(fmt.Sprint(extra["repeat"])); n > 1 {
					// the same drill N times, each with its recovery and
					// verify: a campaign of one mode
					extra["count"], extra["seed"] = n, 1
					if _, ok := extra["mode"]; !ok {
						extra["mode"] = "kill"
					}
					extra["modes"] = extra["mode"]
					return a.chaos(cmd.Context(), &f, extra)
				}
			}
			if listHosts {
				extra, err := f.extraVars()
				if err != nil {
					return err
				}
				return printHosts(a, pb, inv, runner.Selection{Limit: f.limit, ExtraVars: extra})
			}
			return a.runPlay(cmd.Context(), &f, args[0], pb, inv, tags, skipTags, startAt, noHandlersOnFailure)
		},
	}
	f.add(cmd)
	f.vault.withVault(a, cmd)
	fl := cmd.Flags()
	fl.StringSliceVarP(&tags, "tags", "t", nil, "run only tasks with these tags")
	fl.StringSliceVar(&skipTags, "skip-tags", nil, "skip tasks with these tags")
	fl.StringVar(&startAt, "start-at-task", "", "start at the task with this name")
	fl.BoolVar(&listTasks, "list-tasks", false, "list the tasks that would run, and stop")
	fl.BoolVar(&listTags, "list-tags", false, "list the tags of each play's tasks, and stop")
	fl.BoolVar(&listHosts, "list-hosts", false, "list the hosts each play would run on, and stop")
	fl.BoolVar(&syntaxCheck, "syntax-check", false, "check the playbook and stop")
	fl.BoolVar(&noHandlersOnFailure, "no-handlers-on-failure", false, "do not run notified handlers on hosts that failed later in the play (Ansible's default)")
	var forceHandlers bool
	fl.BoolVar(&forceHandlers, "force-handlers", false, "run notified handlers on hosts that failed later (runbook's default; the flag is for Ansible users)")
	cmd.ValidArgsFunction = completePlaybooks
	cmd.RegisterFlagCompletionFunc("limit", completeHosts(&f))
	return cmd
}

// runPlay runs a loaded playbook on an inventory: the play command's work
// once its input is read (the chaos campaign's plays come here too).
func (a *app) runPlay(ctx context.Context, f *runFlags, arg string, pb *playbooks.Playbook, inv *inventory.Inventory, tags, skipTags []string, startAt string, noHandlersOnFailure bool) error {
	opt, err := f.options(a, inv)
	if err != nil {
		return err
	}
	if name := embeddedName(arg); lab.IsDrill(name) {
		if _, given := opt.ExtraVars["report_dir"]; !given {
			// reports go where `runbook drills` lists them
			if opt.ExtraVars == nil {
				opt.ExtraVars = map[string]any{}
			}
			opt.ExtraVars["report_dir"] = lab.DrillsDir()
		}
	}
	opt.Tags, opt.SkipTags, opt.StartAt, opt.NoHandlersOnFailure = tags, skipTags, startAt, noHandlersOnFailure
	embedded := embeddedName(arg)
	// an embedded lab playbook whose hosts are missing fails
	// instead of skipping its plays (a skipped verify is no pass)
	opt.StrictHosts = embedded != "" && lab.UsesRecord(embedded)
	stats, err := runner.Run(ctx, pb, opt)
	if err != nil {
		return err
	}
	if code := stats.ExitCode(); code != 0 {
		writeRetry(a, arg, stats)
		return &exitError{code: code}
	}
	if !f.check {
		switch embedded {
		case "site.yaml":
			if path, err := lab.Record(opt.Inventory, f.netns, f.knownHosts, "site.yaml"); err != nil {
				fmt.Fprintf(a.stderr, "[WARNING]: the lab could not be recorded: %v\n", err)
			} else if path != "" {
				fmt.Fprintf(a.stderr, "the lab is recorded in %s: lab commands without -i use it (runbook verify, runbook play recover-primary.yaml -l postgres1)\n", path)
			}
		case "destroy.yaml":
			lab.Forget()
		}
	}
	return nil
}

// writeRetry writes the failed and unreachable hosts, one per line, for -l @FILE.
func writeRetry(a *app, playbook string, stats *runner.Stats) {
	var failed []string
	for _, h := range stats.Order {
		if c := stats.Hosts[h]; c.Failed > 0 || c.Unreachable > 0 {
			failed = append(failed, h)
		}
	}
	if len(failed) == 0 {
		return
	}
	name := strings.TrimSuffix(filepath.Base(playbook), filepath.Ext(playbook)) + ".retry"
	dir, err := os.UserCacheDir()
	if err != nil {
		return
	}
	path := filepath.Join(dir, "runbook", name)
	if os.MkdirAll(filepath.Dir(path), 0o700) != nil {
		return
	}
	if safefile.WriteFile(path, []byte(strings.Join(failed, "\n")+"\n"), 0o600) == nil {
		fmt.Fprintf(a.stderr, "to retry the failed hosts: -l @%s\n", path)
	}
}

func printTasks(a *app, pb *playbooks.Playbook, sel runner.Selection) error {
	plan, err := runner.NewPlan(pb, nil, sel)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "playbook: %s\n", pb.Name)
	for _, pp := range plan.Plays {
		fmt.Fprintf(a.stdout, "\n  play: %s (hosts: %s)\n    tasks:\n", pp.Play.Name, pp.Play.Hosts)
		for _, t := range pp.Tasks {
			fmt.Fprintf(a.stdout, "      %s\tTAGS: [%s]\n", t.Task.Name, strings.Join(t.Tags, ", "))
		}
	}
	return nil
}

// printTags lists each play's tags as ansible-playbook --list-tags does.
func printTags(a *app, pb *playbooks.Playbook) {
	fmt.Fprintf(a.stdout, "playbook: %s\n", pb.Name)
	for i, p := range pb.Plays {
		set := map[string]bool{}
		var walk func([]*playbooks.Task, []string)
		walk = func(ts []*playbooks.Task, inherited []string) {
			for _, t := range ts {
				all := append(append([]string(nil), inherited...), t.Tags...)
				if t.IsBlock() {
					walk(t.Block, all)
					walk(t.Rescue, all)
					walk(t.Always, all)
					continue
				}
				for _, tag := range all {
					set[tag] = true
				}
			}
		}
		walk(p.Tasks, p.Tags)
		var list []string
		for tag := range set {
			list = append(list, tag)
		}
		sort.Strings(list)
		fmt.Fprintf(a.stdout, "\n  play #%d (%s): %s\tTAGS: [%s]\n      TASK TAGS: [%s]\n", i+1, p.Hosts, p.Name, strings.Join(p.Tags, ", "), strings.Join(list, ", "))
	}
}

func printHosts(a *app, pb *playbooks.Playbook, inv runner.HostSelector, sel runner.Selection) error {
	plan, err := runner.NewPlan(pb, inv, sel)
	if err != nil {
		return err
	}
	for _, pp := range plan.Plays {
		fmt.Fprintf(a.stdout, "  play: %s (%d hosts)\n", pp.Play.Name, len(pp.Hosts))
		for _, h := range pp.Hosts {
			fmt.Fprintf(a.stdout, "    %s\n", h)
		}
	}
	return nil
}

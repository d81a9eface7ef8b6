package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/runbook-lab/runbook/internal/inputfile"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
	"golang.org/x/term"

	"github.com/runbook-lab/runbook/internal/diag"
	"github.com/runbook-lab/runbook/inventory"
	"github.com/runbook-lab/runbook/lab"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/output"
	"github.com/runbook-lab/runbook/playbooks"
	"github.com/runbook-lab/runbook/runner"
)

// runFlags are the options shared by play and run.
// maxTimeout bounds -T: a larger value (inf, 1e300) overflows a duration
// and made every host unreachable at once.
const maxTimeout = 86400

type runFlags struct {
	inventory     string
	limit         string
	extra         []string
	check, diff   bool
	forks         int
	askBecomePass bool
	askPass       bool
	verbose       int
	outputFormat  string
	acceptNew     bool
	knownHosts    string
	netns         string
	perCommand    bool
	timeout       float64
	remoteUser    string
	privateKey    string
	become        bool
	explain       bool
	vault         vaultFlags
}

func (f *runFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.inventory, "inventory", "i", os.Getenv("RUNBOOK_INVENTORY"), "inventory file (YAML or INI); default $RUNBOOK_INVENTORY, else localhost only")
	fl.StringVarP(&f.limit, "limit", "l", "", "limit to hosts matching this pattern (a:b, a:!b, a:&b, globs, @retryfile)")
	fl.StringArrayVarP(&f.extra, "extra-vars", "e", nil, "extra variables: k=v ..., @file.yaml, or JSON/YAML text (repeatable)")
	fl.BoolVarP(&f.check, "check", "C", false, "change nothing; report what would change")
	fl.BoolVarP(&f.diff, "diff", "D", false, "show the differences of changed files and settings")
	fl.IntVarP(&f.forks, "forks", "f", 10, "hosts worked on in parallel")
	fl.BoolVarP(&f.askBecomePass, "ask-become-pass", "K", false, "ask for the sudo password (once per run)")
	fl.BoolVarP(&f.askPass, "ask-pass", "k", false, "ask for the SSH password")
	fl.StringVarP(&f.remoteUser, "user", "u", "", "connect as this user (a host's ansible_user wins)")
	fl.StringVar(&f.privateKey, "private-key", "", "SSH private key file (a host's ansible_ssh_private_key_file wins)")
	fl.BoolVar(&f.explain, "explain", false, "show the shell commands each task sends to each host, as you would type them")
	fl.BoolVarP(&f.become, "become", "b", false, "become (sudo) for every task unless a play, block or task says otherwise")
	fl.Float64VarP(&f.timeout, "timeout", "T", 10, "SSH connection timeout in seconds; a connected host silent for about twice as long is unreachable")
	fl.CountVarP(&f.verbose, "verbose", "v", "show command output (-v) and all result fields (-vv)")
	fl.StringVar(&f.outputFormat, "output", "text", "output format: text, json (one document at the end) or jsonl (one line per event, as it happens)")
	fl.BoolVar(&f.acceptNew, "ssh-accept-new", false, "add unknown SSH host keys to known_hosts (changed keys are still refused)")
	fl.StringVar(&f.knownHosts, "known-hosts", os.Getenv("RUNBOOK_KNOWN_HOSTS"), "known_hosts file (default ~/.ssh/known_hosts)")
	fl.BoolVar(&f.perCommand, "ssh-per-command", os.Getenv("RUNBOOK_SSH_PER_COMMAND") == "1", "run every command in an SSH session of its own instead of one persistent shell per host")
	fl.StringVar(&f.netns, "netns", os.Getenv("RUNBOOK_NETNS"), "open SSH connections from this network namespace (ip netns), for hosts on a namespaced lab network")
	f.vault.add(fl)
}

// loadInventoryFor is loadInventory for a command on playbook ("" for run
// and verify): with no -i, the lab commands use the recorded lab, and say so.
func (f *runFlags) loadInventoryFor(a *app, playbook string) (*inventory.Inventory, error) {
	if f.inventory == "" && lab.UsesRecord(playbook) {
		inv, note, err := loadLabRecord(f)
		if err != nil {
			return nil, err
		}
		if inv != nil {
			fmt.Fprintln(a.stderr, note)
			return inv, nil
		}
	}
	return f.loadInventory()
}

func (f *runFlags) loadInventory() (*inventory.Inventory, error) {
	if _, err := os.Stat(f.inventory); err != nil && strings.Contains(f.inventory, ",") {
		// Ansible's inline host list: -i 'host1,host2,' (host:port allowed)
		inv := inventory.New()
		for _, h := range strings.Split(f.inventory, ",") {
			if h = strings.TrimSpace(h); h == "" {
				continue
			}
			vars := map[string]any{}
			if name, port, ok := strings.Cut(h, ":"); ok && !strings.Contains(port, ":") {
				h, vars["ansible_port"] = name, port
			}
			inv.AddHost(h, "", vars)
		}
		return inv, nil
	}
	if f.inventory == "" {
		inv := inventory.New()
		inv.AddHost("localhost", "", map[string]any{"ansible_connection": "local"})
		return inv, nil
	}
	return inventory.Load(f.inventory)
}

// extraVars parses -e values: k=v words, @file, or a YAML/JSON mapping.
func (f *runFlags) extraVars() (map[string]any, error) {
	out := map[string]any{}
	for _, e := range f.extra {
		switch {
		case strings.HasPrefix(e, "@"):
			b, err := inputfile.Read(e[1:])
			if err != nil {
				return nil, fmt.Errorf("-e %s: %w", e, err)
			}
			vars, err := playbooks.LoadVarsFile(&diag.Source{Name: e[1:], Text: b})
			if err != nil {
				return nil, err
			}
			for k, v := range vars {
				out[k] = v
			}
		case strings.HasPrefix(strings.TrimSpace(e), "{"):
			m := map[string]any{}
			doc, err := diag.ParseYAML(&diag.Source{Name: "-e", Text: []byte(e)})
			if err == nil && len(doc.Content) > 0 {
				err = doc.Content[0].Decode(&m)
			}
			if err != nil {
				return nil, fmt.Errorf("-e: not a valid mapping: %v", err)
			}
			for k, v := range m {
				out[k] = v
			}
		default:
			n := &yaml.Node{Kind: yaml.ScalarNode, Value: e, Line: 1, Column: 1}
			kv, err := playbooks.ParseKV(n)
			if err != nil {
				return nil, fmt.Errorf("-e %q: %v", e, err)
			}
			m := map[string]any{}
			if err := kv.Decode(&m); err != nil {
				return nil, fmt.Errorf("-e %q: %v", e, err)
			}
			for k, v := range m {
				out[k] = v
			}
		}
	}
	return out, nil
}

func (a *app) readSecret(prompt string) ([]byte, error) {
	if f, ok := a.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(a.stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		return b, err
	}
	// one buffered reader for the whole run: -k then -K read two lines of
	// the same piped stdin, and a reader per call would swallow the second
	if a.stdinLines == nil {
		a.stdinLines = bufio.NewReader(a.stdin)
	}
	line, err := a.stdinLines.ReadString('\n')
	if err != nil && err != io.EOF {
		return nil, err
	}
	return []byte(strings.TrimRight(line, "\r\n")), nil
}

func (f *runFlags) output(a *app) (runner.Output, error) {
	switch f.outputFormat {
	case "text", "":
		color := false
		if file, ok := a.stdout.(*os.File); ok {
			color = output.UseColor(file)
		}
		return &output.Human{W: a.stdout, Color: color, Verbosity: f.verbose, Diff: f.diff}, nil
	case "json":
		return &output.JSON{W: a.stdout}, nil
	case "jsonl", "json-lines":
		return &output.JSONLines{W: a.stdout}, nil
	}
	return nil, fmt.Errorf("--output: expected text, json or jsonl, got %q", f.outputFormat)
}

// options builds runner options after all input has been validated.
func (f *runFlags) options(a *app, inv *inventory.Inventory) (runner.Options, error) {
	extra, err := f.extraVars()
	if err != nil {
		return runner.Options{}, err
	}
	out, err := f.output(a)
	if err != nil {
		return runner.Options{}, err
	}
	if f.timeout <= 0 || f.timeout != f.timeout || f.timeout > maxTimeout {
		return runner.Options{}, fmt.Errorf("--timeout: expected a number of seconds above 0 and at most %d (a day), got %g", maxTimeout, f.timeout)
	}
	if f.forks < 1 {
		return runner.Options{}, fmt.Errorf("--forks: expected at least 1, got %d", f.forks)
	}
	if f.limit != "" {
		if _, err := inv.Select(f.limit); err != nil {
			return runner.Options{}, fmt.Errorf("--limit: %w", err)
		}
	}
	opt := runner.Options{Registry: modules.Default, Inventory: inv, Limit: f.limit, ExtraVars: extra,
		Check: f.check, Diff: f.diff, Forks: f.forks, Output: out,
		Connector: &runner.Connector{KnownHosts: f.knownHosts, AcceptNew: f.acceptNew, NetNS: f.netns,
			Timeout: time.Duration(f.timeout * float64(time.Second)), User: f.remoteUser, KeyFile: f.privateKey,
			PerCommandSessions: f.perCommand},
		Become: f.become, Explain: f.explain, Heartbeat: heartbeatEvery(), SlowestShown: slowestShown(), VaultSecrets: a.vault.Opened}
	if f.askPass {
		if opt.Connector.Password, err = a.readSecret("SSH password: "); err != nil {
			return opt, err
		}
	}
	if f.askBecomePass {
		if opt.BecomePassword, err = a.readSecret("BECOME password: "); err != nil {
			return opt, err
		}
	}
	return opt, nil
}

// heartbeatEvery is how often a long task says it still runs: 30 s, or
// RUNBOOK_HEARTBEAT (a Go duration; 0 turns it off).
func heartbeatEvery() time.Duration {
	if v := os.Getenv("RUNBOOK_HEARTBEAT"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return 30 * time.Second
}

// slowestShown is how many of the slowest tasks the recap lists: 3, or
// PROFILE_TASKS_TASK_OUTPUT_LIMIT as Ansible's profile_tasks reads it.
func slowestShown() int {
	if n, err := strconv.Atoi(os.Getenv("PROFILE_TASKS_TASK_OUTPUT_LIMIT")); err == nil && n > 0 {
		return n
	}
	return 3
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Package output prints a run's events: Ansible-style text for people
// (colour only on a terminal, NO_COLOR respected) or one JSON document.
package output

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/runbook-lab/runbook/runner"
)

// Human prints Ansible-style text.
type Human struct {
	W         io.Writer
	Color     bool
	Verbosity int
	Diff      bool
	mu        sync.Mutex
}

// UseColor says whether to colour output on f.
func UseColor(f *os.File) bool {
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

const (
	green, yellow, red, cyan, magenta, reset = "\033[32m", "\033[33m", "\033[31m", "\033[36m", "\033[35m", "\033[0m"
)

func (h *Human) paint(color, s string) string {
	if !h.Color {
		return s
	}
	return color + s + reset
}

func banner(s string) string {
	if n := 79 - len(s); n > 0 {
		return s + " " + strings.Repeat("*", n-1)
	}
	return s
}

// Play prints the play banner.
func (h *Human) Play(name string, hosts []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if name == "" {
		name = strings.Join(hosts, ",")
	}
	fmt.Fprintf(h.W, "\n%s\n", banner("PLAY ["+name+"]"))
}

// Task prints the task banner.
func (h *Human) Task(name string, handler bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	kind := "TASK"
	if handler {
		kind = "RUNNING HANDLER"
	}
	fmt.Fprintf(h.W, "\n%s\n", banner(kind+" ["+name+"]"))
}

// Result prints one host's outcome.
func (h *Human) Result(r *runner.HostResult) {
	h.mu.Lock()
	defer h.mu.Unlock()
	color := map[runner.Status]string{runner.StatusOK: green, runner.StatusChanged: yellow, runner.StatusFailed: red,
		runner.StatusSkipped: cyan, runner.StatusUnreachable: red, runner.StatusIgnored: cyan}[r.Status]
	host := r.Host
	if r.Delegate != "" {
		host += " -> " + r.Delegate
	}
	line := fmt.Sprintf("%s: [%s]", r.Status, host)
	if r.Status == runner.StatusFailed || r.Status == runner.StatusIgnored {
		line = fmt.Sprintf("fatal: [%s]: FAILED!", host)
	}
	if r.Status == runner.StatusUnreachable {
		line = fmt.Sprintf("fatal: [%s]: UNREACHABLE!", host)
	}
	if r.Item != nil {
		line += fmt.Sprintf(" => (item=%v)", itemLabel(r.Item))
	}
	if r.Msg != "" && (r.Status != runner.StatusSkipped || h.Verbosity > 0) {
		sep := " => "
		if r.Item != nil {
			sep = " "
		}
		msg := r.Msg
		if strings.Contains(msg, "\n") {
			msg = "\n    " + strings.ReplaceAll(msg, "\n", "\n    ")
		}
		line += sep + msg
	}
	if r.Status == runner.StatusIgnored {
		line += " ...ignoring"
	}
	fmt.Fprintln(h.W, h.paint(color, line))
	if r.Status == runner.StatusFailed && h.Verbosity == 0 && !r.NoLog {
		// a failed command shows why without -v: the end of its stderr
		// (or of its stdout when stderr is empty)
		if tail := failureTail(r.Data, 15); tail != "" {
			fmt.Fprintln(h.W, h.paint(red, tail))
		}
	}
	if h.Diff {
		for _, d := range r.Diffs {
			fmt.Fprint(h.W, h.colorDiff(runner.UnifiedDiff(d.Path, d.Before, d.After)))
		}
	}
	if h.Verbosity > 0 && !r.NoLog && r.Data != nil {
		for _, k := range []string{"stdout", "stderr"} {
			if s, ok := r.Data[k].(string); ok && s != "" {
				fmt.Fprintf(h.W, "  %s:\n    %s\n", k, strings.ReplaceAll(s, "\n", "\n    "))
			}
		}
	}
	if h.Verbosity > 1 && !r.NoLog && r.Data != nil {
		keys := make([]string, 0, len(r.Data))
		for k := range r.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k != "stdout" && k != "stderr" && k != "stdout_lines" && k != "stderr_lines" {
				fmt.Fprintf(h.W, "  %s: %v\n", k, r.Data[k])
			}
		}
	}
	for _, w := range r.Warnings {
		fmt.Fprintln(h.W, h.paint(magenta, "[WARNING]: "+r.Host+": "+w))
	}
	for _, c := range r.Commands {
		// --explain: each command as typed on the host
		lines := strings.Split(c, "\n")
		fmt.Fprintln(h.W, "  $ "+lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintln(h.W, "    "+l)
		}
	}
}

func (h *Human) colorDiff(d string) string {
	if !h.Color {
		return d
	}
	var b strings.Builder
	for _, l := range strings.SplitAfter(d, "\n") {
		switch {
		case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
			b.WriteString(l)
		case strings.HasPrefix(l, "+"):
			b.WriteString(green + strings.TrimSuffix(l, "\n") + reset + "\n")
		case strings.HasPrefix(l, "-"):
			b.WriteString(red + strings.TrimSuffix(l, "\n") + reset + "\n")
		case strings.HasPrefix(l, "@@"):
			b.WriteString(cyan + strings.TrimSuffix(l, "\n") + reset + "\n")
		default:
			b.WriteString(l)
		}
	}
	return b.String()
}

// Warn prints a warning.
func (h *Human) Warn(host, msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	prefix := "[WARNING]: "
	if host != "" {
		prefix += host + ": "
	}
	fmt.Fprintln(h.W, h.paint(magenta, prefix+msg))
}

// Recap prints PLAY RECAP and the slowest tasks.
func (h *Human) Recap(s *runner.Stats) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fmt.Fprintf(h.W, "\n%s\n", banner("PLAY RECAP"))
	width := 0
	for _, n := range s.Order {
		width = max(width, len(n))
	}
	for _, n := range s.Order {
		c := s.Hosts[n]
		color := green
		switch {
		case c.Failed > 0 || c.Unreachable > 0:
			color = red
		case c.Changed > 0:
			color = yellow
		}
		fmt.Fprintf(h.W, "%s : ok=%-4d changed=%-4d unreachable=%-4d failed=%-4d skipped=%-4d rescued=%-4d ignored=%d\n",
			h.paint(color, fmt.Sprintf("%-*s", width, n)), c.OK, c.Changed, c.Unreachable, c.Failed, c.Skipped, c.Rescued, c.Ignored)
	}
	if len(s.Plays) > 2 && s.Elapsed > 10*time.Second {
		// a long run of several plays: where the time went, phase by phase
		fmt.Fprintf(h.W, "\nplays:\n")
		for _, p := range s.Plays {
			fmt.Fprintf(h.W, "  %8s  %s\n", p.Duration.Round(time.Second/10), p.Task)
		}
	}
	if len(s.Slowest) > 1 {
		fmt.Fprintf(h.W, "\nslowest tasks (of %s in all):\n", s.Elapsed.Round(time.Millisecond))
		for _, t := range s.Slowest {
			fmt.Fprintf(h.W, "  %8s  %s\n", t.Duration.Round(time.Millisecond), t.Task)
		}
	}
}

var _ runner.Output = (*Human)(nil)

// failureTail is the last lines of a failed command's stderr, else stdout.
func failureTail(data map[string]any, n int) string {
	for _, k := range []string{"stderr", "stdout"} {
		s, _ := data[k].(string)
		s = strings.TrimRight(s, "\n")
		if s == "" {
			continue
		}
		lines := strings.Split(s, "\n")
		if len(lines) > n {
			lines = append([]string{"    ..."}, lines[len(lines)-n:]...)
		}
		return "    " + k + ":\n    " + strings.Join(lines, "\n    ")
	}
	return ""
}

// Progress shows how a long step on a host is going.
func (h *Human) Progress(host, msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fmt.Fprintf(h.W, "  [%s] %s\n", host, msg)
}

// itemLabel is how a loop item is shown: a mapping by its name (or, for a
// loop over registered results, by its own item's name), else as is.
func itemLabel(item any) any {
	m, ok := item.(map[string]any)
	if !ok {
		return item
	}
	if n, ok := m["name"]; ok {
		return n
	}
	if inner, ok := m["item"]; ok {
		return itemLabel(inner)
	}
	return item
}

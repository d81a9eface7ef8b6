package pg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/runbook-lab/runbook/modules"
)

// PgWriter is the failover drill's probe: on the client host it inserts
// numbered rows through pgpool, one session each, and logs every
// acknowledged commit and every error with a timestamp; its report compares
// the log with the rows that survived.
type PgWriter struct {
	Action     string  `yaml:"action" doc:"start, stop or report"`
	Host       string  `yaml:"host" doc:"where the writer connects (pgpool)" default:"127.0.0.1"`
	Port       int     `yaml:"port" doc:"pgpool's port" default:"9999"`
	User       string  `yaml:"user" doc:"role to write as (password from ~/.pgpass)" default:"postgres"`
	Table      string  `yaml:"table" doc:"probe table (dropped by report unless keep)" default:"runbook_drill"`
	Log        string  `yaml:"log" doc:"the writer's log on the host; its directory must not be writable by others (the writer's script lives beside it and runs as the connecting user)" default:"/var/lib/runbook/writer.log"`
	BreakAt    float64 `yaml:"break_at" doc:"when the failure was caused (unix seconds), for detection and recovery times"`
	ReportFile string  `yaml:"report_file" doc:"an SVG timeline written on the machine running runbook"`
	Keep       bool    `yaml:"keep" doc:"keep the probe table after the report"`
}

func init() {
	modules.Register(modules.Info{ID: "pg_writer", Summary: "The drill's write probe: numbered inserts through pgpool with acknowledgements logged; report gives lost acknowledged rows, outages and an SVG timeline.",
		Example: "pg_writer:\n  action: report\n  break_at: \"{{ .broke_at }}\"\n  report_file: failover-drill.svg\nregister: drill",
		New: func() modules.Module {
			return &PgWriter{Host: "127.0.0.1", Port: 9999, User: "postgres", Table: "runbook_drill", Log: "/var/lib/runbook/writer.log"}
		}})
}

// Validate checks the action and table name.
func (w *PgWriter) Validate() error {
	switch w.Action {
	case "start", "stop", "report":
	default:
		return fmt.Errorf("pg_writer: action must be start, stop or report, got %q", w.Action)
	}
	if !paramName.MatchString(w.Table) {
		return fmt.Errorf("pg_writer: %q is not a plain table name", w.Table)
	}
	return nil
}

func (w *PgWriter) psql() string {
	return modules.Join("psql", "-X", "-qAt", "-h", w.Host, "-p", strconv.Itoa(w.Port), "-U", w.User, "-d", "postgres")
}

// Run performs the action.
func (w *PgWriter) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	// it acts as it runs: skipped in check mode
	return modules.Act(func(ctx context.Context) (*modules.Result, error) { return w.act(ctx, env) }), nil
}

func (w *PgWriter) act(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	stop := modules.Quote(w.Log + ".stop")
	// The script, the log and the stop file live in one private directory:
	// a predictable path in a world-writable one (/var/tmp) would let any
	// local user plant a FIFO or symlink there and run code as root.
	if _, err := modules.RunOK(ctx, env.Host, privateDir(w.Log), "the writer's directory"); err != nil {
		return nil, err
	}
	switch w.Action {
	case "start":
		// Each insert gets 5 s: a session pgpool leaves hanging (seen when a
		// standby dies under 4.3.5) counts as an error, and the next insert
		// opens a new one. A commit that did land is then "present but not
		// acknowledged", never a lost acknowledged row.
		script := `P="timeout 5 "` + modules.Quote(w.psql()) + `
$P -c "DROP TABLE IF EXISTS ` + w.Table + `; CREATE TABLE ` + w.Table + ` (id int PRIMARY KEY)" >/dev/null || exit 1
i=0
while [ ! -f ` + stop + ` ]; do
  i=$((i+1))
  if $P -c "INSERT INTO ` + w.Table + ` (id) VALUES ($i)" >/dev/null 2>&1; then echo "ack $i $(date +%s.%N)"; else echo "err $i $(date +%s.%N)"; fi
done
echo done`
		launch := "rm -f " + stop + " " + modules.Quote(w.Log) + "\ncat > " + modules.Quote(w.Log+".sh") + "\nsetsid nohup sh " + modules.Quote(w.Log+".sh") + " > " + modules.Quote(w.Log) + " 2>&1 < /dev/null &"
		// the script goes over on stdin (no quoting of SQL in arguments)
		r, err := env.Host.Run(ctx, modules.Cmd{Script: launch, Stdin: []byte(script + "\n")})
		if err != nil {
			return nil, err
		}
		if r.RC != 0 {
			return nil, fmt.Errorf("starting the writer: %s", strings.TrimSpace(r.Stderr))
		}
		return &modules.Result{Changed: true, Msg: "writer started"}, nil
	case "stop":
		script := "touch " + stop + "\nfor i in $(seq 1 100); do tail -1 " + modules.Quote(w.Log) + " | grep -qx done && exit 0; sleep 0.1; done; exit 1"
		if _, err := modules.RunOK(ctx, env.Host, script, "stopping the writer"); err != nil {
			return nil, err
		}
		return &modules.Result{Changed: true, Msg: "writer stopped"}, nil
	}
	return w.report(ctx, env)
}

// privateDir creates the directory of path (0700) when missing and refuses
// it when it is a symlink, writable by group or others, or owned by another
// user (who could swap the script the writer runs).
func privateDir(path string) string {
	d := modules.Quote(filepath.Dir(path))
	return "[ -d " + d + " ] || install -d -m 0700 " + d + " || exit 1\n" +
		"if [ -L " + d + " ] || [ -n \"$(find " + d + " -maxdepth 0 -perm /022)\" ] || [ \"$(stat -c %u " + d + ")\" != \"$(id -u)\" ]; then echo " + modules.Quote(filepath.Dir(path)+" is writable by others, a symlink, or another user's: choose a private directory for the writer's log") + " >&2; exit 1; fi"
}

// WriteEvent is one line of the writer's log.
type WriteEvent struct {
	Ack bool
	ID  int
	At  float64
}

// ParseWriterLog reads the writer's log.
func ParseWriterLog(log string) []WriteEvent {
	var out []WriteEvent
	for _, l := range strings.Split(log, "\n") {
		f := strings.Fields(l)
		if len(f) != 3 || (f[0] != "ack" && f[0] != "err") {
			continue
		}
		id, err1 := strconv.Atoi(f[1])
		at, err2 := strconv.ParseFloat(f[2], 64)
		if err1 == nil && err2 == nil {
			out = append(out, WriteEvent{Ack: f[0] == "ack", ID: id, At: at})
		}
	}
	return out
}

// DrillFigures are what a drill measured.
type DrillFigures struct {
	Writes, Acked, Missing, Unacked int
	MissingIDs                      []int
	Outages                         []float64 // seconds from the first error to the next ack
	DetectionSeconds                float64   // break to the first error (-1: no error)
	RecoverySeconds                 float64   // break to the first ack after the first error
	LongestGap                      float64   // longest time between two acks (a delayed commit)
}

// Figures compares the log with the rows present afterwards.
func Figures(ev []WriteEvent, present map[int]bool, breakAt float64) DrillFigures {
	f := DrillFigures{Writes: len(ev), DetectionSeconds: -1, RecoverySeconds: -1}
	start, lastAck := -1.0, -1.0
	for _, e := range ev {
		if e.Ack {
			f.Acked++
			if !present[e.ID] {
				f.MissingIDs = append(f.MissingIDs, e.ID)
			}
			if lastAck >= 0 && e.At-lastAck > f.LongestGap {
				f.LongestGap = e.At - lastAck
			}
			lastAck = e.At
		} else if present[e.ID] {
			f.Unacked++
		}
		if breakAt > 0 && e.At >= breakAt {
			if !e.Ack && f.DetectionSeconds < 0 {
				f.DetectionSeconds = e.At - breakAt
			}
			if e.Ack && f.DetectionSeconds >= 0 && f.RecoverySeconds < 0 {
				f.RecoverySeconds = e.At - breakAt
			}
		}
		if !e.Ack && start < 0 {
			start = e.At
		}
		if e.Ack && start >= 0 {
			f.Outages = append(f.Outages, e.At-start)
			start = -1
		}
	}
	sort.Ints(f.MissingIDs)
	f.Missing = len(f.MissingIDs)
	return f
}

func (w *PgWriter) report(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	r, err := modules.RunOK(ctx, env.Host, "cat "+modules.Quote(w.Log), "reading the writer's log")
	if err != nil {
		return nil, err
	}
	ev := ParseWriterLog(r.Stdout)
	if len(ev) == 0 {
		return nil, errors.New("the writer logged nothing: was it started?")
	}
	rows, err := modules.RunOK(ctx, env.Host, w.psql()+" -c "+modules.Quote("SELECT id FROM "+w.Table), "reading the probe table")
	if err != nil {
		return nil, err
	}
	present := map[int]bool{}
	for _, l := range strings.Fields(rows.Stdout) {
		if id, err := strconv.Atoi(l); err == nil {
			present[id] = true
		}
	}
	f := Figures(ev, present, w.BreakAt)
	if w.ReportFile != "" {
		if err := os.WriteFile(w.ReportFile, []byte(TimelineSVG(ev, w.BreakAt, f)), 0o644); err != nil {
			return nil, err
		}
	}
	if !w.Keep {
		if _, err := modules.RunOK(ctx, env.Host, w.psql()+" -c "+modules.Quote("DROP TABLE IF EXISTS "+w.Table), "dropping the probe table"); err != nil {
			return nil, err
		}
	}
	outages := make([]any, len(f.Outages))
	for i, o := range f.Outages {
		outages[i] = round3(o)
	}
	data := map[string]any{"writes": f.Writes, "acknowledged": f.Acked, "missing": f.Missing, "unacknowledged_present": f.Unacked,
		"detection_seconds": round3(f.DetectionSeconds), "recovery_seconds": round3(f.RecoverySeconds),
		"longest_gap_seconds": round3(f.LongestGap), "outages": outages, "report_file": w.ReportFile}
	msg := fmt.Sprintf("%d writes, %d acknowledged, %d acknowledged rows missing, %d rows present but never acknowledged; detection %.2fs, writes back %.2fs after the break, longest gap between commits %.2fs",
		f.Writes, f.Acked, f.Missing, f.Unacked, f.DetectionSeconds, f.RecoverySeconds, f.LongestGap)
	return &modules.Result{Msg: msg, Data: data, Failed: f.Missing > 0}, nil
}

func round3(f float64) float64 { return float64(int64(f*1000)) / 1000 }

// TimelineSVG draws the writes over time: acknowledged (green) and failed
// (red) ticks, the moment of the break, and the figures.
func TimelineSVG(ev []WriteEvent, breakAt float64, f DrillFigures) string {
	const w, h, left, top = 900, 220, 50, 40
	t0, t1 := ev[0].At, ev[len(ev)-1].At
	if t1 <= t0 {
		t1 = t0 + 1
	}
	x := func(t float64) float64 { return left + (t-t0)/(t1-t0)*(w-2*left) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	outages := "none"
	for i, o := range f.Outages {
		if i == 0 {
			outages = ""
		} else {
			outages += ", "
		}
		outages += fmt.Sprintf("%.2f s", o)
	}
	fmt.Fprintf(&b, `<text x="%d" y="20">writes through pgpool: %d acknowledged, %d missing afterwards; write outages: %s</text>`+"\n",
		left, f.Acked, f.Missing, outages)
	for _, e := range ev {
		color, y := "#2a2", top+20
		if !e.Ack {
			color, y = "#d22", top+70
		}
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="%s"/>`+"\n", x(e.At), x(e.At), y, y+40, color)
	}
	if breakAt > 0 {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="black" stroke-dasharray="4"/><text x="%.1f" y="%d">break</text>`+"\n", x(breakAt), x(breakAt), top, top+130, x(breakAt)+3, top+145)
	}
	fmt.Fprintf(&b, `<text x="5" y="%d">ack</text><text x="5" y="%d">error</text>`+"\n", top+45, top+95)
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#888"/>`+"\n", left, w-left, top+160, top+160)
	for s := 0.0; t0+s <= t1; s += niceStep(t1 - t0) {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%gs</text>`+"\n", x(t0+s), top+175, s)
	}
	fmt.Fprintf(&b, "<!-- generated by runbook at %s -->\n</svg>\n", time.Now().UTC().Format(time.RFC3339))
	return b.String()
}

func niceStep(span float64) float64 {
	for _, s := range []float64{0.5, 1, 2, 5, 10, 30, 60, 120} {
		if span/s <= 12 {
			return s
		}
	}
	return 300
}

var _ modules.Validator = (*PgWriter)(nil)

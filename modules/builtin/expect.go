package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/runbook-lab/runbook/internal/shellwords"
	"github.com/runbook-lab/runbook/modules"
)

// Expect is Ansible's expect: a command run in a terminal, each question
// (a regular expression) answered as it appears. It runs with the host's
// python3 and its pty module (Ansible needs pexpect there): the answers
// travel on the program's stdin as JSON, never in its arguments, since
// they are often passwords.
type Expect struct {
	Command   string         `yaml:"command" required:"true" doc:"the command (split as a shell would, not run by one)"`
	Responses map[string]any `yaml:"responses" required:"true" doc:"question regexp: answer, or a list of answers for successive matches"`
	Chdir     string         `yaml:"chdir" doc:"run it in this folder"`
	Creates   string         `yaml:"creates" doc:"skip when this path exists"`
	Removes   string         `yaml:"removes" doc:"skip when this path does not exist"`
	Timeout   *int           `yaml:"timeout" default:"30" doc:"seconds to wait for output (0: no limit)"`
	Echo      bool           `yaml:"echo" doc:"let the terminal echo the answers into the output"`
}

func init() {
	modules.Register(modules.Info{ID: "expect", Summary: "Run a command in a terminal and answer its questions (Ansible's expect; python3 on the host, answers on stdin)",
		Example: "expect:\n  command: passwd pgadmin\n  responses:\n    (?i)password: \"{{ .pgadmin_password }}\"\nno_log: true",
		New:     func() modules.Module { return &Expect{} }})
}

// Validate checks the command and the questions.
func (e *Expect) Validate() error {
	if strings.TrimSpace(e.Command) == "" {
		return fmt.Errorf("expect: no command given")
	}
	if _, err := shellwords.Split(e.Command); err != nil {
		return fmt.Errorf("expect: command: %v", err)
	}
	for q := range e.Responses {
		if _, err := regexp.Compile(q); err != nil {
			return fmt.Errorf("expect: question %q: %v", q, err)
		}
	}
	return nil
}

// expectPy answers a program in a pty as pexpect.run does: of all the
// questions, the one matching earliest in the unread output wins; its text
// and what came before go to the output; a list answers successive matches.
const expectPy = `import json, os, pty, re, select, signal, sys, termios, time
spec = json.loads(sys.stdin.read())
qs = [(q, re.compile(q.encode()), [a.rstrip("\n").encode() + b"\n" for a in ans], lst) for q, ans, lst in spec["responses"]]
pid, fd = pty.fork()
if pid == 0:
    try:
        if not spec["echo"]:
            a = termios.tcgetattr(0); a[3] &= ~termios.ECHO; termios.tcsetattr(0, termios.TCSANOW, a)
        if spec["chdir"]:
            os.chdir(spec["chdir"])
        os.execvp(spec["argv"][0], spec["argv"])
    except Exception as e:
        os.write(2, ("%s: %s\n" % (spec["argv"][0], e)).encode()); os._exit(127)
buf, out, used = b"", [], [0] * len(qs)
deadline = time.time() + spec["timeout"] if spec["timeout"] else None
def finish(rc, **kw):
    kw.update(rc=rc, stdout=b"".join(out).decode("utf-8", "replace"))
    print(json.dumps(kw)); sys.exit(0)
def stop():
    try: os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0)
    except OSError: pass
while True:
    best = None
    for i, (q, rx, ans, lst) in enumerate(qs):
        m = rx.search(buf)
        if m and (best is None or m.start() < best[1].start()):
            best = (i, m)
    if best:
        i, m = best
        seen = buf[:m.end()]; out.append(seen); buf = buf[m.end():]
        q, rx, ans, lst = qs[i]
        if lst and used[i] >= len(ans):
            stop(); finish(None, exhausted=q, seen=seen.decode("utf-8", "replace"))
        os.write(fd, ans[used[i]] if lst else ans[0]); used[i] += 1
        continue
    left = None if deadline is None else deadline - time.time()
    if left is not None and left <= 0:
        out.append(buf); stop(); finish(None, timeout=True)
    r, _, _ = select.select([fd], [], [], left)
    if not r:
        continue
    try:
        data = os.read(fd, 4096)
    except OSError:
        data = b""
    if not data:
        break
    buf += data
out.append(buf)
_, st = os.waitpid(pid, 0)
finish(os.WEXITSTATUS(st) if os.WIFEXITED(st) else -os.WTERMSIG(st))
`

// Run answers the program and reports as Ansible does.
func (e *Expect) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	for _, c := range []struct{ path, want, say string }{{e.Creates, "-e", "exists"}, {e.Removes, "! -e", "does not exist"}} {
		if c.path == "" {
			continue
		}
		r, err := env.Host.Run(ctx, modules.Cmd{Script: "test " + c.want + " " + modules.Quote(c.path)})
		if err != nil {
			return nil, err
		}
		if r.RC == 0 {
			return &modules.Result{Msg: "skipped, since " + c.path + " " + c.say, Data: map[string]any{"cmd": e.Command, "rc": 0, "stdout": "skipped, since " + c.path + " " + c.say}}, nil
		}
	}
	res := &modules.Result{Changed: true, Data: map[string]any{"cmd": e.Command}}
	res.Then(func(ctx context.Context) error {
		argv, _ := shellwords.Split(e.Command)
		questions := make([]string, 0, len(e.Responses))
		for q := range e.Responses {
			questions = append(questions, q)
		}
		sort.Strings(questions) // the order only breaks ties of equal position
		var resp [][]any
		for _, q := range questions {
			switch a := e.Responses[q].(type) {
			case []any:
				list := make([]string, len(a))
				for i, x := range a {
					list[i] = fmt.Sprint(x)
				}
				resp = append(resp, []any{q, list, true})
			default:
				resp = append(resp, []any{q, []string{fmt.Sprint(a)}, false})
			}
		}
		timeout := 30
		if e.Timeout != nil {
			timeout = *e.Timeout
		}
		spec, _ := json.Marshal(map[string]any{"argv": argv, "chdir": e.Chdir, "responses": resp, "timeout": timeout, "echo": e.Echo})
		begin := time.Now()
		// Python's regex engine backtracks and does not stop for signals: a
		// question like (a+)+$ can spin past the timeout inside one search, so
		// the host's timeout(1) ends the whole helper a little after it
		limit := ""
		if timeout > 0 {
			limit = fmt.Sprintf("if command -v timeout >/dev/null; then set -- timeout --foreground -s KILL %d; fi; ", timeout+2)
		}
		r, err := env.Host.Run(ctx, modules.Cmd{Script: "command -v python3 >/dev/null || { echo 'expect needs python3 on the host' >&2; exit 127; }; " + limit + "exec \"$@\" python3 -c " + modules.Quote(expectPy), Stdin: spec, Secret: true})
		if err != nil {
			return err
		}
		if (r.RC == 124 || r.RC == 137) && timeout > 0 && strings.TrimSpace(r.Stdout) == "" {
			res.Failed, res.Msg = true, "command exceeded timeout"
			res.Data["rc"] = nil
			return nil
		}
		if r.RC != 0 {
			*res = *modules.Failf("expect: %s", modules.LastLines(strings.TrimSpace(r.Stderr), 6))
			return nil
		}
		var got struct {
			RC        *int   `json:"rc"`
			Stdout    string `json:"stdout"`
			Timeout   bool   `json:"timeout"`
			Exhausted string `json:"exhausted"`
			Seen      string `json:"seen"`
		}
		if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil {
			return fmt.Errorf("expect: unreadable answer from the host: %v", err)
		}
		end := time.Now()
		res.Data["stdout"] = strings.TrimRight(got.Stdout, "\r\n")
		res.Data["start"], res.Data["end"], res.Data["delta"] = begin.Format("2006-01-02 15:04:05.000000"), end.Format("2006-01-02 15:04:05.000000"), end.Sub(begin).String()
		switch {
		case got.Exhausted != "":
			// Ansible fails from inside pexpect's callback: no output, nothing changed
			*res = modules.Result{Failed: true, Msg: fmt.Sprintf("No remaining responses for '%s', output was '%s'", got.Exhausted, pyBytes(got.Seen))}
			return nil
		case got.RC == nil:
			res.Failed, res.Msg = true, "command exceeded timeout"
			res.Data["rc"] = nil
		default:
			res.Data["rc"] = *got.RC
			if *got.RC != 0 {
				res.Failed, res.Msg = true, "non-zero return code"
			}
		}
		return nil
	})
	return res, nil
}

// pyBytes is Python's repr of bytes (b'...'), as Ansible's message shows
// the output it had seen.
func pyBytes(s string) string {
	quote := "'"
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		quote = `"`
	}
	var b strings.Builder
	b.WriteString("b" + quote)
	for _, c := range []byte(s) {
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case string(c) == quote:
			b.WriteString(`\` + quote)
		case c < 32 || c >= 127:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteString(quote)
	return b.String()
}

var _ modules.Validator = (*Expect)(nil)

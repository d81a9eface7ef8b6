package runner

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/runbook-lab/runbook/hostexec"
)

// explainHost records every command a module sends, as a person would type
// it on the host, for --explain. It passes the optional abilities of the
// connection through (local files, unix sockets), so modules behave the same
// explained or not.
type explainHost struct {
	hostexec.Host
	as   string // the user the commands run as, when become is on
	mu   sync.Mutex
	cmds []string
}

func (e *explainHost) Run(ctx context.Context, c hostexec.Cmd) (hostexec.CmdResult, error) {
	line := strings.TrimSpace(c.Script)
	if e.as != "" {
		line = "# as " + e.as + " (sudo)\n" + line
	}
	switch {
	case c.Secret && len(c.Stdin) > 0:
		line += "\n# stdin: (secret, not shown)"
	case len(c.Stdin) > 0:
		line += "\n# stdin: " + summarize(c.Stdin)
	}
	e.mu.Lock()
	e.cmds = append(e.cmds, line)
	e.mu.Unlock()
	return e.Host.Run(ctx, c)
}

// summarize shows a short stdin whole and a long one by its size.
func summarize(b []byte) string {
	if len(b) <= 200 && !strings.ContainsRune(string(b), 0) {
		return strings.ReplaceAll(strings.TrimRight(string(b), "\n"), "\n", "\n#        ")
	}
	return "(" + strconv.Itoa(len(b)) + " bytes)"
}

func (e *explainHost) IsLocal() bool { return hostexec.Forward{Inner: e.Host}.IsLocal() }

func (e *explainHost) DialUnix(path string) (net.Conn, error) {
	return hostexec.Forward{Inner: e.Host}.DialUnix(path)
}

func (e *explainHost) DialTCP(addr string) (net.Conn, error) {
	return hostexec.Forward{Inner: e.Host}.DialTCP(addr)
}

func (e *explainHost) commands() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.cmds...)
}

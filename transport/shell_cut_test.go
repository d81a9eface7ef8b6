package transport

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A command line cut short on its way (the connection lost while it was
// sent) runs nothing: the host's shell gets a prefix and then end of
// input, and only the whole line may run the command. Every prefix of a
// line, with and without stdin, is fed to this machine's /bin/sh.
func TestCutCommandLineRunsNothing(t *testing.T) {
	dir := t.TempDir()
	ran := filepath.Join(dir, "ran")
	script := "echo x > " + ran + "; echo 'quoted\nnewline' >/dev/null"
	for _, stdin := range [][]byte{nil, []byte("line one\nline two\n")} {
		line := commandLine(newNonce(), script, stdin)
		for cut := 0; cut <= len(line); cut++ {
			os.Remove(ran)
			sh := exec.Command("/bin/sh", "-c", "exec /bin/sh 3>/dev/null 2>/dev/null")
			sh.Stdin = strings.NewReader(line[:cut])
			_ = sh.Run()
			_, err := os.Stat(ran)
			whole := cut >= strings.LastIndex(line, "}")+1
			if (err == nil) != whole {
				t.Fatalf("stdin %v, line cut at %d of %d (%q): ran=%v", stdin != nil, cut, len(line), line[max(0, cut-20):cut], err == nil)
			}
		}
	}
}

package cli

import (
	"bytes"
	"crypto/ed25519"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/tools/txtar"
)

// The malformed-input corpus (testdata/malformed/*.txtar): every case is a
// static mistake in a playbook, an inventory, a template or the command
// line. Each must end with exit 1, a clear error (the `want:` lines, such
// as file:line:col), no Go stack trace, no hang, and no connection to any
// host: the default inventory's host is a tripwire listener on loopback
// that counts connections.
//
// A case's header: `args: ...` (default `play pb.yaml -i inv.yaml`),
// `want: text` lines, `code: N` for a run-time refusal (a template that
// would exhaust memory: exit 2, one clear line). {{TRIPWIRE}} in any file is the tripwire's port.
func TestMalformedInputs(t *testing.T) {
	files, _ := filepath.Glob("testdata/malformed/*.txtar")
	if len(files) < 100 {
		t.Errorf("the corpus has %d cases, want at least 100", len(files))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var hits atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			hits.Add(1)
			c.Close()
		}
	}()
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	// a key and a known_hosts file, so that nothing but the mistake stops
	// a connection: without them the dial would fail before the tripwire
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	_, priv, _ := ed25519.GenerateKey(nil)
	block, _ := ssh.MarshalPrivateKey(priv, "")
	os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519"), pem.EncodeToMemory(block), 0o600)
	known := filepath.Join(home, ".ssh", "known_hosts")
	os.WriteFile(known, nil, 0o600)
	t.Setenv("HOME", home)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txtar")
		t.Run(name, func(t *testing.T) {
			ar, err := txtar.ParseFile(f)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			args := "play pb.yaml -i inv.yaml"
			wantCode := 1
			var wants []string
			for _, line := range strings.Split(string(ar.Comment), "\n") {
				if v, ok := strings.CutPrefix(line, "args: "); ok {
					args = v
				}
				if v, ok := strings.CutPrefix(line, "want: "); ok {
					wants = append(wants, v)
				}
				if v, ok := strings.CutPrefix(line, "code: "); ok {
					wantCode, _ = strconv.Atoi(v)
				}
			}
			if len(wants) == 0 {
				t.Fatal("the case has no want: line")
			}
			haveInv := false
			for _, af := range ar.Files {
				p := filepath.Join(dir, af.Name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				data := bytes.ReplaceAll(af.Data, []byte("{{TRIPWIRE}}"), []byte(port))
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
				haveInv = haveInv || af.Name == "inv.yaml"
			}
			if !haveInv {
				os.WriteFile(filepath.Join(dir, "inv.yaml"), []byte("all:\n  hosts:\n    web1:\n      ansible_host: 127.0.0.1\n      ansible_port: "+port+"\n"), 0o644)
			}
			wd, _ := os.Getwd()
			os.Chdir(dir)
			defer os.Chdir(wd)
			before := hits.Load()
			type res struct {
				code   int
				stderr string
				stdout string
			}
			done := make(chan res, 1)
			go func() {
				var out, errb bytes.Buffer
				argv := splitArgs(args)
				if len(argv) > 0 && (argv[0] == "play" || argv[0] == "run") {
					argv = append(argv, "--known-hosts", known, "--ssh-accept-new")
				}
				code := Main(argv, strings.NewReader(""), &out, &errb)
				done <- res{code, errb.String(), out.String()}
			}()
			var r res
			select {
			case r = <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("hangs: no answer after 30 s")
			}
			all := r.stdout + r.stderr
			if strings.Contains(all, "goroutine ") || strings.Contains(all, "panic:") {
				t.Errorf("a Go stack trace:\n%s", all)
			}
			if r.code != wantCode {
				t.Errorf("exit %d, want %d\n%s", r.code, wantCode, all)
			}
			for _, w := range wants {
				if !strings.Contains(all, w) {
					t.Errorf("stderr lacks %q:\n%s", w, all)
				}
			}
			if n := hits.Load() - before; n != 0 {
				t.Errorf("a host was contacted (%d connections) before the mistake was refused", n)
			}
		})
	}
}

// splitArgs splits the args: line on spaces, with single quotes grouping.
func splitArgs(s string) []string {
	var out []string
	var cur strings.Builder
	in, quoted := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			quoted, in = !quoted, true
		case r == ' ' && !quoted:
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

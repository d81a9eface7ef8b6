package builtin_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/hostexec"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/modules/builtin"
	"github.com/runbook-lab/runbook/transport"
)

// lab serves a file, its checksums, a JSON document and an echo of POSTed
// JSON behind basic authentication, on loopback.
func httpLab(t *testing.T) (*httptest.Server, string) {
	payload := strings.Repeat("runbook get_url payload\n", 100)
	sum := sha256.Sum256([]byte(payload))
	hexSum := hex.EncodeToString(sum[:])
	mux := http.NewServeMux()
	mux.HandleFunc("/files/tool.bin", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, payload) })
	mux.HandleFunc("/files/SHA256SUMS", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s  other.bin\n%s  tool.bin\n", strings.Repeat("0", 64), hexSum)
	})
	mux.HandleFunc("/api/info", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"role":"primary","lag":[0,1]}`)
	})
	mux.HandleFunc("/api/echo", func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != "admin" || p != "s3cr3t" {
			w.WriteHeader(401)
			return
		}
		var v any
		json.NewDecoder(r.Body).Decode(&v)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "got": v})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, hexSum
}

// get_url and uri give what Ansible's give for the same requests: the
// same file, the same status and JSON, changed only the first time.
func TestHTTPModulesMatchAnsible(t *testing.T) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("ansible-playbook not installed (make test-deps installs it)")
	}
	srv, sum := httpLab(t)
	dir := t.TempDir()
	tasks := func(side string) []map[string]any {
		return []map[string]any{
			{"get_url": map[string]any{"url": srv.URL + "/files/tool.bin", "dest": filepath.Join(dir, side+"-a.bin"), "checksum": "sha256:" + sum, "mode": "0640"}},
			{"get_url": map[string]any{"url": srv.URL + "/files/tool.bin", "dest": filepath.Join(dir, side+"-b.bin"), "checksum": "sha256:" + srv.URL + "/files/SHA256SUMS"}},
			{"uri": map[string]any{"url": srv.URL + "/api/info", "return_content": true}},
			{"uri": map[string]any{"url": srv.URL + "/api/echo", "method": "POST", "body_format": "json", "body": map[string]any{"n": 1, "s": "x y"},
				"status_code": 201, "return_content": true, "url_username": "admin", "url_password": "s3cr3t", "force_basic_auth": true}},
			{"uri": map[string]any{"url": srv.URL + "/api/echo", "status_code": []any{401}}},
		}
	}
	// Ansible, twice (the second run must change nothing)
	var ansible [][]map[string]any
	for round := 0; round < 2; round++ {
		var regs []map[string]any
		var ts []map[string]any
		for i, task := range tasks("ansible") {
			task["register"] = fmt.Sprintf("r%d", i)
			ts = append(ts, task)
		}
		regs = ansiblePlay(t, dir, ts)
		ansible = append(ansible, regs)
	}
	for round := 0; round < 2; round++ {
		for i, task := range tasks("runbook") {
			for id, args := range task {
				info, _ := modules.Default.Lookup(id)
				m := info.New()
				decode(t, args.(map[string]any), m)
				if id == "get_url" { // check mode foresees the run and downloads nothing
					dest := args.(map[string]any)["dest"].(string)
					_, before := os.Stat(dest)
					res, err := modules.Execute(context.Background(), m, env(t, true))
					if _, after := os.Stat(dest); err != nil || res.Changed != ansible[round][i]["changed"] || (before == nil) != (after == nil) {
						t.Errorf("round %d %s in check mode: %v %+v; file there before: %v, after: %v", round, id, err, res, before == nil, after == nil)
					}
				}
				res, err := modules.Execute(context.Background(), m, env(t, false))
				if err != nil || res.Failed {
					t.Fatalf("%s %v: %v %+v", id, args, err, res)
				}
				want := ansible[round][i]
				if res.Changed != want["changed"] {
					t.Errorf("round %d task %d %s: changed %v, Ansible %v", round, i, id, res.Changed, want["changed"])
				}
				for _, k := range []string{"status", "json"} {
					if w, ok := want[k]; ok && id == "uri" && !reflect.DeepEqual(jsonish(res.Data[k]), w) {
						t.Errorf("task %d %s: %s = %v, Ansible %v", i, id, k, res.Data[k], w)
					}
				}
			}
		}
	}
	for _, f := range []string{"a.bin", "b.bin"} {
		a, _ := os.ReadFile(filepath.Join(dir, "ansible-"+f))
		r, _ := os.ReadFile(filepath.Join(dir, "runbook-"+f))
		if len(a) == 0 || string(a) != string(r) {
			t.Errorf("%s: runbook %d bytes, Ansible %d bytes", f, len(r), len(a))
		}
		sa, _ := os.Stat(filepath.Join(dir, "ansible-"+f))
		sr, _ := os.Stat(filepath.Join(dir, "runbook-"+f))
		if sa.Mode() != sr.Mode() {
			t.Errorf("%s: mode runbook %v, Ansible %v", f, sr.Mode(), sa.Mode())
		}
	}
}

// jsonish is v as encoding/json would give it back (numbers as float64).
func jsonish(v any) any {
	b, _ := json.Marshal(v)
	var out any
	json.Unmarshal(b, &out)
	return out
}

func decode(t *testing.T, args map[string]any, m modules.Module) {
	t.Helper()
	b, _ := json.Marshal(args)
	var generic map[string]any
	json.Unmarshal(b, &generic)
	if err := decodeInto(generic, m); err != nil {
		t.Fatal(err)
	}
}

// The password of a request reaches curl on stdin only: never in the
// script (a process argument on the host) and never in the output.
func TestHTTPPasswordNotInArguments(t *testing.T) {
	srv, _ := httpLab(t)
	rec := &recorder{Host: &transport.Local{HostName: "localhost"}}
	u := &builtin.URI{URL: srv.URL + "/api/echo", Method: "POST", BodyFormat: "json", Body: map[string]any{"a": 1},
		StatusCode: modules.IntList{201}, URLUsername: "admin", URLPassword: "s3cr3t", FollowRedirects: "safe", Timeout: 5}
	res, err := modules.Execute(context.Background(), u, &modules.Env{Host: rec, Vars: map[string]any{}})
	if err != nil || res.Failed {
		t.Fatalf("%v %+v", err, res)
	}
	for _, c := range rec.cmds {
		if strings.Contains(c.Script, "s3cr3t") {
			t.Errorf("password in the script: %s", c.Script)
		}
		if strings.Contains(string(c.Stdin), "s3cr3t") && !c.Secret {
			t.Errorf("password on stdin of a command not marked secret")
		}
	}
}

type recorder struct {
	hostexec.Host
	cmds []hostexec.Cmd
}

func (r *recorder) Run(ctx context.Context, c hostexec.Cmd) (hostexec.CmdResult, error) {
	r.cmds = append(r.cmds, c)
	return r.Host.Run(ctx, c)
}

// A checksums file is a server's text: a line whose "sum" is shell code
// is refused, and nothing of it runs on the host.
func TestGetURLHostileChecksumsFile(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "PWNED")
	mux := http.NewServeMux()
	mux.HandleFunc("/tool.bin", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "payload\n") })
	mux.HandleFunc("/SUMS", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "x;touch${IFS}%s;$(touch${IFS}%s)  tool.bin\n", marker, marker)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	m := &builtin.GetURL{}
	decode(t, map[string]any{"url": srv.URL + "/tool.bin", "dest": filepath.Join(dir, "tool.bin"), "checksum": "sha256:" + srv.URL + "/SUMS"}, m)
	res, err := modules.Execute(context.Background(), m, env(t, false))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Failed || !strings.Contains(res.Msg, "not a sha256 sum") {
		t.Errorf("a non-hex sum was not refused: %+v", res)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the checksums file's text ran on the host")
	}
	if _, err := os.Stat(filepath.Join(dir, "tool.bin")); err == nil {
		t.Errorf("downloaded despite a bad checksum")
	}
}

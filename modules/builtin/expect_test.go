package builtin_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/modules/builtin"
)

// The same questions answered by Ansible's expect (pexpect) and by
// runbook's (python3's pty on the host): the same output, return codes and
// failures, for a dialogue with a hidden password and a repeated question,
// a question left without answers, a timeout and a failing program.
func TestExpectMatchesAnsible(t *testing.T) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("ansible-playbook not installed (make test-deps installs it)")
	}
	if exec.Command("python3", "-c", "import pexpect").Run() != nil {
		t.Skip("python3-pexpect not installed (make test-deps installs it)")
	}
	dir := t.TempDir()
	dialogue := filepath.Join(dir, "dialogue.sh")
	os.WriteFile(dialogue, []byte(`#!/bin/bash
read -p "Name: " n
read -s -p "Password: " p; echo
echo "hello $n (${#p} characters)"
read -p "again? " a; read -p "again? " b
echo "answers $a $b"
exit 3
`), 0o755)
	cases := []map[string]any{
		{"command": "bash " + dialogue, "responses": map[string]any{"Name:": "bob", "Password:": "s3cret", `again\?`: []any{"x", "y"}}},
		{"command": "bash " + dialogue, "responses": map[string]any{"Name:": "bob", "Password:": "s3cret", `again\?`: []any{"x"}}},
		{"command": "sleep 5", "responses": map[string]any{"never": "x"}, "timeout": 1},
		{"command": "echo ready", "responses": map[string]any{"never": "x"}},
		{"command": "echo skipped", "responses": map[string]any{"x": "y"}, "creates": dir},
	}
	var tasks []map[string]any
	for _, c := range cases {
		tasks = append(tasks, map[string]any{"expect": c, "ignore_errors": true})
	}
	want := ansiblePlay(t, dir, tasks)
	for i, c := range cases {
		info := runExpect(t, c)
		w := want[i]
		for _, k := range []string{"stdout", "rc", "msg", "failed", "changed"} {
			wv, gv := norm(w[k]), norm(info[k])
			if k == "failed" && wv == "none" {
				wv = "false" // Ansible leaves failed out of a success
			}
			if k == "msg" && w["failed"] != true {
				continue
			}
			if wv != gv {
				t.Errorf("case %d %v: %s: runbook %q, Ansible %q", i, c["command"], k, gv, wv)
			}
		}
	}
}

// norm prints a value the same way from Ansible's JSON and runbook's data.
func norm(v any) string {
	switch x := v.(type) {
	case nil:
		return "none"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// runExpect runs the module here and gives its result as a playbook's
// register would hold it.
func runExpect(t *testing.T, args map[string]any) map[string]any {
	t.Helper()
	info, _ := modules.Default.Lookup("expect")
	m := info.New()
	if err := decodeInto(args, m); err != nil {
		t.Fatal(err)
	}
	res, err := modules.Execute(context.Background(), m, env(t, false))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{"changed": res.Changed, "failed": res.Failed, "msg": res.Msg}
	for k, v := range res.Data {
		out[k] = v
	}
	return out
}

// A question whose regex backtracks catastrophically on the program's
// output still ends at the timeout (Python's re does not stop for signals).
func TestExpectTimeoutHoldsAgainstACatastrophicRegex(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 missing")
	}
	one := 2
	m := &builtin.Expect{Command: `sh -c 'printf "%s" aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab; sleep 60'`,
		Responses: map[string]any{"(a+)+$": "x"}, Timeout: &one}
	begin := time.Now()
	done := make(chan struct{})
	var res *modules.Result
	var err error
	go func() { res, err = modules.Execute(context.Background(), m, env(t, false)); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("expect ran on past its timeout")
	}
	if err != nil || !res.Failed || !strings.Contains(res.Msg, "exceeded timeout") {
		t.Errorf("after %v: %+v %v", time.Since(begin), res, err)
	}
}

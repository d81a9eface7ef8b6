package builtin_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// initScript is a small LSB init script whose service is a sleep.
func initScript(name string) string {
	return strings.ReplaceAll(`#!/bin/sh
### BEGIN INIT INFO
# Provides:          NAME
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: runbook's sysvinit test service
### END INIT INFO
PID=/run/NAME.pid
case "$1" in
  start) if [ -f $PID ] && kill -0 "$(cat $PID)" 2>/dev/null; then exit 0; fi
         sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > $PID ;;
  stop) [ -f $PID ] && kill "$(cat $PID)" 2>/dev/null; rm -f $PID ;;
  status) if [ -f $PID ] && kill -0 "$(cat $PID)" 2>/dev/null; then echo "NAME is running"; else echo "NAME is not running"; exit 3; fi ;;
esac
`, "NAME", name)
}

// The same steps by Ansible (on one service) and by runbook (on another,
// the same script): the same changed flags, the same running state and
// boot links after each run.
func TestSysvinitMatchesAnsible(t *testing.T) {
	for _, tool := range []string{"ansible-playbook", "update-rc.d"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("installs init scripts")
	}
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("systemd runs here: service and update-rc.d go through it")
	}
	names := map[string]string{}
	for _, side := range []string{"ansible", "runbook"} {
		n := fmt.Sprintf("rbtest-%s-%d", side, os.Getpid())
		names[side] = n
		if err := os.WriteFile("/etc/init.d/"+n, []byte(initScript(n)), 0o755); err != nil {
			t.Skipf("cannot write an init script: %v", err)
		}
		t.Cleanup(func() {
			exec.Command("/etc/init.d/"+n, "stop").Run()
			exec.Command("update-rc.d", "-f", n, "remove").Run()
			os.Remove("/etc/init.d/" + n)
		})
	}
	steps := []map[string]any{
		{"state": "started", "enabled": true},
		{"state": "started", "enabled": true},
		{"state": "stopped"},
		{"state": "stopped"},
		{"enabled": false},
		{"state": "restarted", "sleep": 0},
		{"state": "reloaded"},
		{"state": "stopped", "enabled": true, "runlevels": []string{"3", "5"}},
	}
	var tasks []map[string]any
	for _, s := range steps {
		a := map[string]any{"name": names["ansible"]}
		for k, v := range s {
			a[k] = v
		}
		tasks = append(tasks, map[string]any{"sysvinit": a})
	}
	dir := t.TempDir()
	want := ansiblePlay(t, dir, tasks)
	state := func(n string) string {
		run := exec.Command("/etc/init.d/"+n, "status").Run() == nil
		links, _ := filepath.Glob("/etc/rc?.d/S??" + n)
		var rl []string
		for _, l := range links {
			rl = append(rl, filepath.Base(filepath.Dir(l)))
		}
		return fmt.Sprintf("running=%v boot=%v", run, rl)
	}
	wantEnd := state(names["ansible"])
	for i, s := range steps {
		a := map[string]any{"name": names["runbook"]}
		for k, v := range s {
			a[k] = v
		}
		changed, err := runModuleChanged(t, "sysvinit", a)
		if err != nil {
			t.Fatalf("step %d %v: %v", i, s, err)
		}
		if wc, _ := want[i]["changed"].(bool); wc != changed {
			t.Errorf("step %d %v: runbook changed=%v, Ansible %v", i, s, changed, wc)
		}
	}
	t.Logf("end state: %s", wantEnd)
	if got := state(names["runbook"]); got != wantEnd {
		t.Errorf("at the end: runbook %s, Ansible %s", got, wantEnd)
	}
}

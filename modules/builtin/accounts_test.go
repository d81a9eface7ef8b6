package builtin_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// accountCases create an account on this machine with Ansible's user/group
// modules (names prefixed ans) and with runbook's (prefixed rb); the
// resulting passwd, group and shadow entries must be the same but for the
// name.
var accountCases = []struct {
	module string
	args   map[string]any
}{
	{"group", map[string]any{"name": "%sgrp1", "gid": "%gid"}},
	{"user", map[string]any{"name": "%susr1", "shell": "/bin/sh", "comment": "Test user", "groups": []any{"users"}, "uid": "%uid"}},
	{"user", map[string]any{"name": "%susr2", "system": true, "create_home": false, "shell": "/usr/sbin/nologin"}},
	{"user", map[string]any{"name": "%susr3", "password": "$6$salt$0123456789abcdef", "groups": "users,%sgrp1", "append": true}},
}

func expand(v any, prefix string, n int) any {
	switch x := v.(type) {
	case string:
		x = strings.ReplaceAll(x, "%s", prefix)
		base := map[string]int{"ans": 47000, "rb": 48000}[prefix]
		switch x {
		case "%uid", "%gid":
			return base + n
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = expand(e, prefix, n)
		}
		return out
	}
	return v
}

func TestAccountsMatchAnsible(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (useradd)")
	}
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("ansible-playbook not installed (make test-deps installs it)")
	}
	cleanup := func() {
		for _, p := range []string{"ans", "rb"} {
			for _, u := range []string{"usr1", "usr2", "usr3"} {
				exec.Command("userdel", "-r", p+u).Run()
			}
			exec.Command("groupdel", p+"grp1").Run()
		}
	}
	cleanup()
	t.Cleanup(cleanup)
	var tasks []map[string]any
	for i, c := range accountCases {
		args := map[string]any{}
		for k, v := range c.args {
			args[k] = expand(v, "ans", i)
		}
		tasks = append(tasks, map[string]any{c.module: args})
	}
	dir := t.TempDir()
	ansiblePlay(t, dir, tasks)
	for round := 0; round < 2; round++ {
		for i, c := range accountCases {
			args := map[string]any{}
			for k, v := range c.args {
				args[k] = expand(v, "rb", i)
			}
			changed, err := runModuleChanged(t, c.module, args)
			if err != nil {
				t.Fatalf("%s %v: %v", c.module, args, err)
			}
			if round == 1 && changed {
				t.Errorf("%s %v: changed on the second run", c.module, args)
			}
		}
	}
	entry := func(db, name string) string {
		out, _ := exec.Command("getent", db, name).Output()
		f := strings.Split(strings.TrimSpace(string(out)), ":")
		if len(f) < 3 {
			return "(none)"
		}
		f[0] = "NAME"
		switch db {
		case "passwd":
			if strings.HasPrefix(f[5], "/home/") {
				f[5] = "/home/NAME"
			}
			if f[2] != "47001" && f[2] != "48001" {
				f[2], f[3] = "ID", "ID" // allocated ids differ
			} else {
				f[2], f[3] = "GIVEN", "GIVEN"
			}
		case "group":
			f[2] = "ID"
			f[3] = strings.NewReplacer("ans", "P", "rb", "P").Replace(f[3])
		case "shadow":
			f[2] = "DAY"
		}
		return strings.Join(f, ":")
	}
	for _, name := range []string{"usr1", "usr2", "usr3"} {
		for _, db := range []string{"passwd", "shadow"} {
			a, r := entry(db, "ans"+name), entry(db, "rb"+name)
			if a != r {
				t.Errorf("%s %s: runbook %s, Ansible %s", db, name, r, a)
			}
		}
		ga, _ := exec.Command("id", "-Gn", "ans"+name).Output()
		gr, _ := exec.Command("id", "-Gn", "rb"+name).Output()
		norm := func(b []byte) string {
			return strings.NewReplacer("ans", "P", "rb", "P").Replace(strings.TrimSpace(string(b)))
		}
		if norm(ga) != norm(gr) {
			t.Errorf("groups of %s: runbook %s, Ansible %s", name, norm(gr), norm(ga))
		}
	}
	if a, r := entry("group", "ansgrp1"), entry("group", "rbgrp1"); a != r {
		t.Errorf("group: runbook %s, Ansible %s", r, a)
	}
}

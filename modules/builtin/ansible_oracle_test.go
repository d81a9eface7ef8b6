package builtin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/runbook-lab/runbook/internal/diag"
	"github.com/runbook-lab/runbook/modules"
	_ "github.com/runbook-lab/runbook/modules/builtin"
)

// editCase is one file edit: a module, its arguments (without path) and
// the file's text before.
type editCase struct {
	module string
	args   map[string]any
	before string
}

var editCases = []editCase{
	{"lineinfile", map[string]any{"regexp": "^b=", "line": "b=3"}, "a=1\nb=2\n"},
	{"lineinfile", map[string]any{"regexp": "^c=", "line": "c=1"}, "a=1\n"},
	{"lineinfile", map[string]any{"line": "y"}, "x\ny\n"},
	{"lineinfile", map[string]any{"line": "n=1", "insertafter": `^\[main\]`}, "[main]\nk=v\n[other]\n"},
	{"lineinfile", map[string]any{"line": "first", "insertbefore": "BOF"}, "a\n"},
	{"lineinfile", map[string]any{"line": "x", "insertbefore": "^c"}, "a\nb\nc\n"},
	{"lineinfile", map[string]any{"regexp": "^b=", "state": "absent"}, "a=1\nb=2\nb=3\n"},
	{"lineinfile", map[string]any{"line": "a", "state": "absent"}, "a\nb\n"},
	{"lineinfile", map[string]any{"regexp": `^port=(\d+)$`, "line": `port=\1 # kept`, "backrefs": true}, "port=5432\n"},
	{"lineinfile", map[string]any{"regexp": "^y(.*)", "line": `z\1`, "backrefs": true}, "x\n"},
	{"lineinfile", map[string]any{"line": "new", "insertafter": "^m", "firstmatch": true}, "a\nm\nm\n"},
	{"lineinfile", map[string]any{"line": "b=2"}, "a=1"},
	{"lineinfile", map[string]any{"search_string": "bar", "line": "baz"}, "foo bar\n"},
	{"lineinfile", map[string]any{"regexp": "^k=", "line": "k=9"}, "k=1\nk=2\n"},
	{"lineinfile", map[string]any{"regexp": "^k=", "line": "k=9", "firstmatch": true}, "k=1\nk=2\n"},
	{"lineinfile", map[string]any{"line": "z", "insertafter": "^nomatch"}, "a\n"},
	{"blockinfile", map[string]any{"block": "x\ny"}, "a\n"},
	{"blockinfile", map[string]any{"block": "new"}, "a\n# BEGIN ANSIBLE MANAGED BLOCK\nold\n# END ANSIBLE MANAGED BLOCK\nb\n"},
	{"blockinfile", map[string]any{"state": "absent"}, "a\n# BEGIN ANSIBLE MANAGED BLOCK\nold\n# END ANSIBLE MANAGED BLOCK\nb\n"},
	{"blockinfile", map[string]any{"block": "x", "insertbefore": "BOF"}, "a\nb\n"},
	{"blockinfile", map[string]any{"block": "x", "insertafter": "^b"}, "a\nb\nc\n"},
	{"blockinfile", map[string]any{"block": "x", "insertbefore": "^c"}, "a\nb\nc\n"},
	{"blockinfile", map[string]any{"block": "x", "marker": "// {mark} managed"}, "a\n"},
	{"blockinfile", map[string]any{"block": "x"}, "a"},
	{"blockinfile", map[string]any{"block": ""}, "a\n# BEGIN ANSIBLE MANAGED BLOCK\nold\n# END ANSIBLE MANAGED BLOCK\n"},
	{"blockinfile", map[string]any{"block": "x\n", "marker_begin": "START", "marker_end": "STOP"}, ""},
	{"replace", map[string]any{"regexp": "^#?PasswordAuthentication .*$", "replace": "PasswordAuthentication no"}, "PasswordAuthentication yes\n#PasswordAuthentication no\n"},
	{"replace", map[string]any{"regexp": `^host=(\w+)$`, "replace": `server=\1`}, "host=a\nhost=b\n"},
	{"replace", map[string]any{"regexp": "x=1", "replace": "x=2", "after": `\[b\]`}, "[a]\nx=1\n[b]\nx=1\n"},
	{"replace", map[string]any{"regexp": "x=1", "replace": "x=2", "before": `\[b\]`}, "[a]\nx=1\n[b]\nx=1\n"},
	{"replace", map[string]any{"regexp": "x=1", "replace": "x=2", "after": `\[a\]`, "before": `\[c\]`}, "x=1\n[a]\nx=1\n[b]\nx=1\n[c]\nx=1\n"},
	{"replace", map[string]any{"regexp": "nomatch", "replace": "y"}, "a\n"},
	{"sysctl", map[string]any{"name": "vm.swappiness", "value": "10", "reload": false}, "# tuning\nkernel.x = 1\n"},
	{"sysctl", map[string]any{"name": "vm.swappiness", "value": "10", "reload": false}, "vm.swappiness = 60\nother=1\nvm.swappiness=30\n"},
	{"sysctl", map[string]any{"name": "vm.swappiness", "state": "absent", "reload": false}, "a=1\nvm.swappiness = 60\n"},
	{"sysctl", map[string]any{"name": "vm.swappiness", "value": "10", "reload": false}, "#vm.swappiness = 60\n"},
	{"cron", map[string]any{"name": "vacuum", "job": "vacuumdb -a", "hour": "3", "minute": "0", "user": "postgres"}, ""},
	{"cron", map[string]any{"name": "vacuum", "job": "vacuumdb -a -z", "hour": "4", "user": "root"}, "#Ansible: vacuum\n0 3 * * * root vacuumdb -a\n"},
	{"cron", map[string]any{"name": "vacuum", "state": "absent"}, "SHELL=/bin/sh\n#Ansible: vacuum\n0 3 * * * root vacuumdb -a\n#Ansible: other\n* * * * * root true\n"},
	{"cron", map[string]any{"name": "boot", "job": "/usr/local/bin/up", "special_time": "reboot", "user": "root"}, "# keep\n"},
	{"cron", map[string]any{"name": "off", "job": "true", "disabled": true, "weekday": "1-5", "user": "nobody"}, ""},
	{"authorized_key", map[string]any{"user": "root", "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 me@a", "manage_dir": false}, ""},
	{"authorized_key", map[string]any{"user": "root", "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA2 you@b", "manage_dir": false}, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 me@a\n"},
	{"authorized_key", map[string]any{"user": "root", "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 renamed", "manage_dir": false}, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 me@a\n"},
	{"authorized_key", map[string]any{"user": "root", "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 me@a", "state": "absent", "manage_dir": false}, "# keys\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 me@a\nssh-rsa AAAAB3 other\n"},
	{"authorized_key", map[string]any{"user": "root", "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 me@a", "exclusive": true, "manage_dir": false}, "ssh-rsa AAAAB3 other\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 me@a\n"},
	{"authorized_key", map[string]any{"user": "root", "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 me@a", "key_options": `from="10.0.0.0/8",no-pty`, "manage_dir": false}, ""},
	{"mount", map[string]any{"path": "/mnt/data", "src": "/dev/vdb", "fstype": "ext4", "opts": "noatime", "state": "present"}, "UUID=abc / ext4 errors=remount-ro 0 1\n"},
	{"mount", map[string]any{"path": "/mnt/data", "src": "/dev/vdc", "fstype": "xfs", "state": "present"}, "UUID=abc / ext4 errors=remount-ro 0 1\n/dev/vdb   /mnt/data  ext4  noatime  0  0\n"},
	{"mount", map[string]any{"path": "/mnt/data", "src": "/dev/vdb", "fstype": "ext4", "opts": "noatime", "state": "present"}, "/dev/vdb   /mnt/data  ext4  noatime  0  0\n"},
	{"mount", map[string]any{"path": "/mnt/data", "state": "absent_from_fstab"}, "UUID=abc / ext4 errors=remount-ro 0 1\n/dev/vdb /mnt/data ext4 noatime 0 0\n"},
	{"mount", map[string]any{"path": "/mnt/data", "src": "tmpfs", "fstype": "tmpfs", "opts": "size=64m", "boot": false, "state": "present"}, ""},
	{"known_hosts", map[string]any{"name": "db1.example.org", "key": "db1.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK1"}, ""},
	{"known_hosts", map[string]any{"name": "db1.example.org", "key": "db1.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK2"}, "other.org ssh-rsa AAAAB3x\ndb1.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK1\n"},
	{"known_hosts", map[string]any{"name": "db1.example.org", "state": "absent"}, "other.org ssh-rsa AAAAB3x\ndb1.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK1\n"},
	{"replace", map[string]any{"regexp": `(?P<k>\w+)=(?P<v>\w+)`, "replace": `\g<v>=\g<k>`}, "a=b\nc=d\n"},
	{"ini_file", map[string]any{"section": "main", "option": "port", "value": "5432"}, ""},
	{"ini_file", map[string]any{"section": "main", "option": "port", "value": "5433"}, "[main]\nport = 5432\nhost = a\n"},
	{"ini_file", map[string]any{"section": "main", "option": "port", "value": "5433"}, "[main]\n# port = 1\nhost = a\n\n[other]\nport = 1\n"},
	{"ini_file", map[string]any{"section": "main", "option": "user", "value": "pg"}, "[main]\nport = 1\n\n# trailing comment\n[next]\nx = 1"},
	{"ini_file", map[string]any{"section": "new", "option": "a", "value": "1", "no_extra_spaces": true}, "[main]\nport = 1\n"},
	{"ini_file", map[string]any{"option": "top", "value": "yes"}, "; header\n[main]\nport = 1\n"},
	{"ini_file", map[string]any{"section": "main", "option": "port", "state": "absent"}, "[main]\nport = 1\nport=2\nhost = a\n"},
	{"ini_file", map[string]any{"section": "main", "state": "absent"}, "[a]\nx = 1\n[main]\nport = 1\n[b]\ny = 2\n"},
	{"ini_file", map[string]any{"section": "main", "option": "dns", "values": []string{"a", "b", "a"}}, "[main]\ndns = b\ndns = c\nport = 1\n"},
	{"ini_file", map[string]any{"section": "main", "option": "dns", "values": []string{"a"}, "exclusive": false}, "[main]\ndns = b\n"},
	{"ini_file", map[string]any{"section": "main", "option": "dns", "values": []string{"b"}, "exclusive": false, "state": "absent"}, "[main]\ndns = a\ndns = b\n"},
	{"ini_file", map[string]any{"section": "main", "option": "skip-name", "allow_no_value": true}, "[main]\nport = 1\n"},
	{"ini_file", map[string]any{"section": "main", "option": "port", "value": "1"}, "[main]\nport=1\n"},
	{"ini_file", map[string]any{"section": "main", "option": "port", "value": "1"}, "[main]\nport = 1"},
}

// The file-editing modules leave a file exactly as Ansible's (Debian's
// ansible-core, run on this machine) leaves the same file.
func TestFileEditsMatchAnsible(t *testing.T) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("ansible-playbook not installed (make test-deps installs it)")
	}
	dir := t.TempDir()
	var tasks []map[string]any
	for i, c := range editCases {
		for _, side := range []string{"ansible", "runbook"} {
			os.MkdirAll(filepath.Join(dir, side), 0o755)
			if err := os.WriteFile(filepath.Join(dir, side, fmt.Sprint(i)), []byte(c.before), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		args := map[string]any{pathArg(c.module): filepath.Join(dir, "ansible", fmt.Sprint(i))}
		for k, v := range c.args {
			args[k] = v
		}
		tasks = append(tasks, map[string]any{c.module: args})
	}
	ansiblePlay(t, dir, tasks)
	for i, c := range editCases {
		path := filepath.Join(dir, "runbook", fmt.Sprint(i))
		args := map[string]any{pathArg(c.module): path}
		for k, v := range c.args {
			args[k] = v
		}
		if err := runModule(t, c.module, args); err != nil {
			t.Errorf("case %d %s %v: %v", i, c.module, c.args, err)
			continue
		}
		want, _ := os.ReadFile(filepath.Join(dir, "ansible", fmt.Sprint(i)))
		got, _ := os.ReadFile(path)
		if string(got) != string(want) {
			t.Errorf("case %d %s %v on %q:\nrunbook %q\nAnsible %q", i, c.module, c.args, c.before, got, want)
		}
	}
}

// ansiblePlay runs tasks with Ansible's ansible-playbook on this machine
// (connection local, in dir) and returns each task's result.
func ansiblePlay(t *testing.T, dir string, tasks []map[string]any) []map[string]any {
	t.Helper()
	return ansiblePlayIn(t, dir, "", tasks)
}

// ansiblePlayIn is ansiblePlay inside a network namespace (netns "" is
// this one).
func ansiblePlayIn(t *testing.T, dir, netns string, tasks []map[string]any) []map[string]any {
	t.Helper()
	play, _ := json.Marshal([]map[string]any{{"hosts": "localhost", "gather_facts": false, "connection": "local", "tasks": tasks}})
	pb := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(pb, play, 0o600); err != nil {
		t.Fatal(err)
	}
	argv := []string{"ansible-playbook", "-i", "localhost,", pb}
	if netns != "" {
		argv = append([]string{"ip", "netns", "exec", netns}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "HOME="+dir, "ANSIBLE_STDOUT_CALLBACK=json", "ANSIBLE_LOCALHOST_WARNING=false")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ansible-playbook: %v\n%s", err, out)
	}
	var res struct {
		Plays []struct {
			Tasks []struct {
				Hosts map[string]map[string]any `json:"hosts"`
			} `json:"tasks"`
		} `json:"plays"`
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res.Plays) == 0 {
		t.Fatalf("ansible-playbook output: %v\n%s", err, out)
	}
	var results []map[string]any
	for _, tk := range res.Plays[0].Tasks {
		results = append(results, tk.Hosts["localhost"])
	}
	return results
}

// stepsMatchAnsible runs each step's module here (decoded as a playbook's,
// a refused argument counting as a failed step) and compares its changed
// and failed flags with Ansible's results for the same steps, in order.
func stepsMatchAnsible(t *testing.T, want []map[string]any, steps []map[string]any) {
	t.Helper()
	for i, step := range steps {
		var id string
		for k := range step {
			if k != "ignore_errors" {
				id = k
			}
		}
		args := step[id].(map[string]any)
		info, _ := modules.Default.Lookup(id)
		m := info.New()
		failed, changed := false, false
		if err := decodeInto(args, m); err != nil {
			failed = true
		} else if res, err := modules.Execute(context.Background(), m, env(t, false)); err != nil {
			t.Fatalf("step %d %v: %v", i, args, err)
		} else {
			failed, changed = res.Failed, res.Changed
		}
		wantChanged, _ := want[i]["changed"].(bool)
		wantFailed, _ := want[i]["failed"].(bool)
		if changed != wantChanged || failed != wantFailed {
			t.Errorf("step %d %s %v: runbook changed=%v failed=%v, Ansible changed=%v failed=%v (%v)", i, id, args, changed, failed, wantChanged, wantFailed, want[i]["msg"])
		}
	}
}

// decodeInto decodes args strictly into m, as a playbook's are.
func decodeInto(args map[string]any, m modules.Module) error {
	var n yaml.Node
	b, _ := yaml.Marshal(args)
	if err := yaml.Unmarshal(b, &n); err != nil {
		return err
	}
	if err := diag.DecodeStrict(&diag.Source{Name: "args"}, n.Content[0], m, "module", nil); err != nil {
		return err
	}
	if v, ok := m.(modules.Validator); ok {
		return v.Validate()
	}
	return nil
}

// runModule decodes args as a playbook would (strictly, aliases included)
// and runs the module on this machine.
func runModule(t *testing.T, id string, args map[string]any) error {
	_, err := runModuleChanged(t, id, args)
	return err
}

// runModuleChanged is runModule that also says whether the module changed
// something.
func runModuleChanged(t *testing.T, id string, args map[string]any) (bool, error) {
	return runModuleIn(t, id, args, false)
}

// runModuleIn is runModuleChanged in check mode when check is true.
func runModuleIn(t *testing.T, id string, args map[string]any, check bool) (bool, error) {
	info, ok := modules.Default.Lookup(id)
	if !ok {
		return false, fmt.Errorf("no module %s", id)
	}
	var n yaml.Node
	b, _ := yaml.Marshal(args)
	if err := yaml.Unmarshal(b, &n); err != nil {
		return false, err
	}
	m := info.New()
	if err := diag.DecodeStrict(&diag.Source{Name: "args"}, n.Content[0], m, id, nil); err != nil {
		return false, err
	}
	if v, ok := m.(modules.Validator); ok {
		if err := v.Validate(); err != nil {
			return false, err
		}
	}
	res, err := modules.Execute(context.Background(), m, env(t, check))
	if err != nil {
		return false, err
	}
	if res.Failed {
		return false, fmt.Errorf("failed: %s", res.Msg)
	}
	return res.Changed, nil
}

func pathArg(module string) string {
	switch module {
	case "sysctl":
		return "sysctl_file"
	case "cron":
		return "cron_file"
	case "mount":
		return "fstab"
	}
	return "path"
}

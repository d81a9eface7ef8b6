package builtin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

func init() {
	modules.Register(modules.Info{ID: "user", Summary: "Create, change or remove a local account (uid, groups, shell, home, password hash).",
		Example: "user:\n  name: deploy\n  groups: [sudo]\n  append: true\n  shell: /bin/bash", New: func() modules.Module { return &User{} }})
}

// User manages a local account (Ansible's user).
type User struct {
	Name       string             `yaml:"name" aliases:"user" doc:"the account"`
	State      string             `yaml:"state" doc:"present or absent" default:"present"`
	UID        *int               `yaml:"uid" doc:"user id"`
	Group      string             `yaml:"group" doc:"primary group"`
	Groups     modules.StringList `yaml:"groups" doc:"supplementary groups (a list or comma-separated)"`
	Append     bool               `yaml:"append" doc:"add to groups, keep the others (false: exactly these groups)"`
	Shell      string             `yaml:"shell" doc:"login shell"`
	Home       string             `yaml:"home" doc:"home folder"`
	CreateHome *bool              `yaml:"create_home" aliases:"createhome" doc:"create the home folder for a new account" default:"true"`
	System     bool               `yaml:"system" doc:"a system account (new accounts only)"`
	Comment    string             `yaml:"comment" doc:"the GECOS field"`
	Password   modules.Secret     `yaml:"password" doc:"the password's crypt hash (not the password itself), as in /etc/shadow"`
	UpdatePass string             `yaml:"update_password" doc:"always (set the hash when it differs) or on_create" default:"always"`
	Remove     bool               `yaml:"remove" doc:"state absent: remove the home folder and mail spool too"`
	Force      bool               `yaml:"force" doc:"state absent: remove even when the user is logged in"`
}

// Validate checks the arguments.
func (u *User) Validate() error {
	if u.Name == "" {
		return errors.New("user: name is required")
	}
	if u.State != "present" && u.State != "absent" {
		return fmt.Errorf("user: state must be present or absent, got %q", u.State)
	}
	if u.UpdatePass != "always" && u.UpdatePass != "on_create" {
		return fmt.Errorf("user: update_password must be always or on_create, got %q", u.UpdatePass)
	}
	if p := string(u.Password); p != "" && !strings.HasPrefix(p, "$") && p != "*" && p != "!" {
		return errors.New("user: password must be a crypt hash such as $6$... (Ansible's too: the password_hash filter makes one)")
	}
	return nil
}

// account is an account as getent and id see it.
type account struct {
	exists                    bool
	uid, gid                  int
	comment, home, shell, pri string
	groups                    []string
	hash                      string
}

func readAccount(ctx context.Context, h modules.Host, name string) (*account, error) {
	q := modules.Quote(name)
	r, err := modules.RunOK(ctx, h, "getent passwd "+q+" || exit 0\necho; id -gn "+q+"; id -Gn "+q+"; getent shadow "+q+" | cut -d: -f2", "getent passwd")
	if err != nil {
		return nil, err
	}
	l := strings.Split(r.Stdout, "\n")
	if strings.TrimSpace(l[0]) == "" {
		return &account{}, nil
	}
	f := strings.Split(l[0], ":")
	if len(f) < 7 || len(l) < 4 {
		return nil, fmt.Errorf("getent passwd %s: unexpected %q", name, r.Stdout)
	}
	a := &account{exists: true, comment: f[4], home: f[5], shell: f[6]}
	a.uid, _ = strconv.Atoi(f[2])
	a.gid, _ = strconv.Atoi(f[3])
	a.pri = strings.TrimSpace(l[2])
	a.groups = strings.Fields(l[3])
	if len(l) > 4 {
		a.hash = strings.TrimSpace(l[4])
	}
	return a, nil
}

// Run creates, changes or removes the account.
func (u *User) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	a, err := readAccount(ctx, env.Host, u.Name)
	if err != nil {
		return nil, err
	}
	res := &modules.Result{Data: map[string]any{"name": u.Name, "state": u.State}}
	q := modules.Quote(u.Name)
	var cmd []string
	var changes []string
	switch {
	case u.State == "absent" && a.exists:
		cmd = []string{"userdel"}
		if u.Remove {
			cmd = append(cmd, "-r")
		}
		if u.Force {
			cmd = append(cmd, "-f")
		}
		changes = append(changes, "removed")
	case u.State == "present" && !a.exists:
		cmd = []string{"useradd"}
		if u.CreateHome == nil || *u.CreateHome {
			cmd = append(cmd, "-m")
		} else {
			cmd = append(cmd, "-M")
		}
		if u.System {
			cmd = append(cmd, "-r")
		}
		if u.Group == "" {
			cmd = append(cmd, "-U") // as Ansible on Debian: a group of the user's name
		}
		cmd = append(cmd, u.attrs(nil)...)
		changes = append(changes, "created")
	case u.State == "present":
		if attrs := u.attrs(a); len(attrs) > 0 {
			cmd = append([]string{"usermod"}, attrs...)
			changes = append(changes, "changed")
		}
	}
	if len(cmd) == 0 {
		if a.exists {
			res.Data["uid"], res.Data["home"], res.Data["shell"] = a.uid, a.home, a.shell
		}
		return res, nil
	}
	res.Changed, res.Msg = true, strings.Join(changes, ", ")
	if env.Diff {
		res.Diffs = []modules.Diff{{Path: "user " + u.Name, Before: describeAccount(a), After: strings.Join(redactPassword(cmd), " ") + "\n"}}
	}
	res.Then(func(ctx context.Context) error {
		_, err = modules.RunOK(ctx, env.Host, strings.Join(cmd, " ")+" "+q, cmd[0])
		return err
	})
	return res, nil
}

// attrs are the useradd/usermod options for what differs from a (nil: a
// new account), quoted.
func (u *User) attrs(a *account) []string {
	var out []string
	add := func(flag, v string) { out = append(out, flag, modules.Quote(v)) }
	if u.UID != nil && (a == nil || a.uid != *u.UID) {
		add("-u", strconv.Itoa(*u.UID))
	}
	if u.Group != "" && (a == nil || a.pri != u.Group) {
		add("-g", u.Group)
	}
	if len(u.Groups) > 0 {
		want := splitGroups(u.Groups)
		if a == nil {
			add("-G", strings.Join(want, ","))
		} else {
			have := map[string]bool{}
			for _, g := range a.groups {
				have[g] = true
			}
			missing := false
			for _, g := range want {
				missing = missing || !have[g]
			}
			extra := !u.Append && len(a.groups) > len(want)+1 // the primary group is listed too
			if missing || extra {
				if u.Append {
					out = append(out, "-a")
				}
				add("-G", strings.Join(want, ","))
			}
		}
	}
	if u.Shell != "" && (a == nil || a.shell != u.Shell) {
		add("-s", u.Shell)
	}
	if u.Home != "" && (a == nil || a.home != u.Home) {
		add("-d", u.Home)
		if a != nil {
			out = append(out, "-m")
		}
	}
	if u.Comment != "" && (a == nil || a.comment != u.Comment) {
		add("-c", u.Comment)
	}
	if p := string(u.Password); p != "" && (a == nil || (u.UpdatePass == "always" && a.hash != p)) {
		add("-p", p)
	}
	return out
}

func splitGroups(l []string) []string {
	var out []string
	for _, g := range l {
		for _, p := range strings.Split(g, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// redactPassword hides the hash after -p in a command shown in a diff.
func redactPassword(cmd []string) []string {
	out := append([]string(nil), cmd...)
	for i := range out {
		if out[i] == "-p" && i+1 < len(out) {
			out[i+1] = "********"
		}
	}
	return out
}

func describeAccount(a *account) string {
	if !a.exists {
		return "absent\n"
	}
	return fmt.Sprintf("uid %d, group %s, groups %s, home %s, shell %s\n", a.uid, a.pri, strings.Join(a.groups, ","), a.home, a.shell)
}

var _ modules.Validator = (*User)(nil)

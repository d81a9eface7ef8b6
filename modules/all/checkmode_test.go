package all_test

import (
	"context"
	"strings"
	"testing"
	"time"

	_ "github.com/runbook-lab/runbook/modules/all"

	"mvdan.cc/sh/v3/syntax"

	"github.com/runbook-lab/runbook/modules"
)

// mutating are commands that change a host; in check mode no module may
// send one (nor a redirection into a file).
var mutating = map[string]bool{
	"mv": true, "rm": true, "cp": true, "chmod": true, "chown": true, "chgrp": true, "mkdir": true, "rmdir": true,
	"ln": true, "touch": true, "tee": true, "truncate": true, "dd": true, "install": true, "useradd": true,
	"usermod": true, "groupadd": true, "userdel": true, "groupmod": true, "groupdel": true, "chpasswd": true,
	"umount": true, "mount": true, "reboot": true, "shutdown": true, "mkfs": true, "gpasswd": true,
	"pg_createcluster": true, "pg_dropcluster": true, "pg_basebackup": true, "pg_rewind": true,
	"genisoimage": true, "debootstrap": true, "kill": true, "pkill": true,
	"pcp_attach_node": true, "pcp_detach_node": true, "pcp_promote_node": true, "pg_promote": true,
}

// mutatingSubcommands are commands whose first argument decides.
var mutatingSubcommands = map[string]map[string]bool{
	"systemctl": {"start": true, "stop": true, "restart": true, "reload": true, "enable": true, "disable": true,
		"mask": true, "unmask": true, "daemon-reload": true, "kill": true},
	"apt-get":       {"install": true, "remove": true, "purge": true, "upgrade": true, "dist-upgrade": true, "autoremove": true},
	"pg_ctl":        {"start": true, "stop": true, "restart": true, "reload": true, "promote": true, "init": true, "initdb": true, "kill": true},
	"pg_ctlcluster": {"start": true, "stop": true, "restart": true, "reload": true, "promote": true},
	"qemu-img":      {"create": true, "convert": true, "resize": true, "commit": true, "rebase": true, "amend": true, "snapshot": true},
	"hostnamectl":   {"set-hostname": true, "hostname": true},
	"sysctl":        {"-w": true, "-p": true, "--system": true, "--load": true},
	"crontab":       {"-": true, "-r": true},
	"git":           {"clone": true, "fetch": true, "checkout": true, "reset": true, "pull": true, "submodule": true, "clean": true},
	"tar":           {"-x": true, "-xf": true, "-xzf": true, "-xjf": true, "-xJf": true, "--extract": true, "-xpf": true},
	"unzip":         {"-d": true, "-o": true},
	"curl":          {"-o": true, "--output": true},
	"wget":          {"-O": true},
	"gpg":           {"--dearmor": true, "--import": true, "-o": true, "--output": true},
	"apt-key":       {"add": true, "del": true, "adv": true},
	"dnf":           {"install": true, "remove": true, "upgrade": true, "update": true, "erase": true, "makecache": true},
	"yum":           {"install": true, "remove": true, "upgrade": true, "update": true, "erase": true, "makecache": true},
	"virsh":         {"define": true, "undefine": true, "start": true, "destroy": true, "shutdown": true, "net-define": true, "net-start": true, "net-destroy": true, "net-undefine": true, "autostart": true, "net-autostart": true},
}

// Check mode is a contract: every registered module, configured as its
// documented example and run under --check against a recording host that
// answers every command (as success, then as failure), sends no command
// that changes the host. Scripts are parsed, and so is every literal
// script handed to sh -c inside them.
func TestCheckModeChangesNothing(t *testing.T) {
	for _, id := range modules.Default.IDs() {
		info, _ := modules.Default.Lookup(id)
		t.Run(id, func(t *testing.T) {
			for _, rc := range []int{0, 1} {
				m := fromExample(t, info)
				h := &recordingHost{rc: rc}
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				func() {
					defer func() {
						if p := recover(); p != nil {
							t.Errorf("panic under --check: %v", p)
						}
					}()
					modules.Execute(ctx, m, &modules.Env{Host: h, Check: true, Vars: map[string]any{"inventory_hostname": "fake"}, Warn: func(string, ...any) {}})
				}()
				cancel()
				for _, s := range h.scripts {
					if what := mutates(s, 0); what != "" {
						t.Errorf("rc=%d: under --check it sent %s in:\n%s", rc, what, s)
					}
				}
			}
		})
	}
}

// mutates names the first change a script would make, or "".
func mutates(script string, depth int) string {
	f, err := syntax.NewParser().Parse(strings.NewReader(script), "")
	if err != nil {
		return ""
	}
	var what string
	syntax.Walk(f, func(n syntax.Node) bool {
		if what != "" {
			return false
		}
		switch n := n.(type) {
		case *syntax.Redirect:
			switch n.Op {
			case syntax.RdrOut, syntax.AppOut, syntax.RdrAll, syntax.AppAll, syntax.ClbOut:
				target, ok := literal(n.Word)
				if !ok || (target != "/dev/null" && target != "/dev/stderr" && target != "/dev/stdout") {
					what = "a redirection into " + text(n.Word)
				}
			}
		case *syntax.CallExpr:
			if len(n.Args) == 0 {
				return true
			}
			name := n.Args[0].Lit()
			if i := strings.LastIndex(name, "/"); i >= 0 {
				name = name[i+1:]
			}
			if mutating[name] {
				what = "`" + name + "`"
			}
			simulated := false // apt-get -s says what it would do
			for _, a := range n.Args[1:] {
				simulated = simulated || name == "apt-get" && (a.Lit() == "-s" || a.Lit() == "--simulate")
			}
			if subs, ok := mutatingSubcommands[name]; ok && !simulated {
				for _, a := range n.Args[1:] {
					if l := a.Lit(); subs[l] {
						what = "`" + name + " " + l + "`"
					}
				}
			}
			if (strings.HasSuffix(name, "sh") || name == "bash") && depth < 4 {
				for i := 1; i+1 < len(n.Args); i++ {
					if n.Args[i].Lit() == "-c" {
						if inner, ok := literal(n.Args[i+1]); ok {
							if w := mutates(inner, depth+1); w != "" {
								what = w
							}
						}
					}
				}
			}
		}
		return true
	})
	return what
}

// The detector itself finds what it must (and leaves reads alone).
func TestMutatesDetector(t *testing.T) {
	for _, s := range []string{"cat > /etc/x", "echo a >> f", "systemctl restart pg", "sh -c 'rm -f /x'", "mv -f a b", "qemu-img create -f qcow2 d 1G"} {
		if mutates(s, 0) == "" {
			t.Errorf("%q not seen as a change", s)
		}
	}
	for _, s := range []string{"cat /etc/x", "ls 2>/dev/null", "systemctl is-active pg", "qemu-img info d", "echo x >&2"} {
		if w := mutates(s, 0); w != "" {
			t.Errorf("%q seen as a change: %s", s, w)
		}
	}
}

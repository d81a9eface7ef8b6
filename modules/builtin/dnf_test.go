package builtin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/hostexec"
	"github.com/runbook-lab/runbook/modules"
)

// rpmHost answers like a RHEL host where only "git" is installed and
// "git" has an update; it keeps the commands sent.
type rpmHost struct{ sent []string }

func (h *rpmHost) Name() string { return "rhel" }
func (h *rpmHost) Run(_ context.Context, c hostexec.Cmd) (hostexec.CmdResult, error) {
	h.sent = append(h.sent, c.Script)
	switch {
	case strings.HasPrefix(c.Script, "rpm -q"):
		var out []string
		for _, w := range strings.Fields(c.Script)[4:] {
			name := strings.Trim(w, "'")
			if name == "2>/dev/null" {
				continue
			}
			if name == "git" {
				out = append(out, "git")
			} else {
				out = append(out, "package "+name+" is not installed")
			}
		}
		return hostexec.CmdResult{Stdout: strings.Join(out, "\n") + "\n", RC: 1}, nil
	case strings.Contains(c.Script, "check-update git"):
		return hostexec.CmdResult{RC: 100}, nil
	case strings.Contains(c.Script, "group list --installed"):
		return hostexec.CmdResult{Stdout: "Installed Groups:\n   Development Tools\n"}, nil
	}
	return hostexec.CmdResult{}, nil
}

// dnf, yum and package on an RPM host: what is installed is read first,
// only what differs is sent, and --check sends no install.
func TestRPMPackages(t *testing.T) {
	cases := []struct {
		module string
		args   map[string]any
		check  bool
		want   string // the last command, "" for none beyond the reads
		change bool
	}{
		{"dnf", map[string]any{"name": []any{"git", "htop"}}, false, "dnf -y -q install htop", true},
		{"dnf", map[string]any{"name": "git", "state": "installed"}, false, "", false},
		{"yum", map[string]any{"name": "git", "state": "latest"}, false, "yum -y -q install git || yum -y -q upgrade git", true},
		{"dnf", map[string]any{"name": "git", "state": "removed"}, false, "dnf -y -q remove git", true},
		{"dnf", map[string]any{"name": "htop"}, true, "", true},
		{"package", map[string]any{"name": "htop"}, false, "dnf -y -q install htop", true},
		// groups, as molecule's converge playbooks install build tools
		{"dnf", map[string]any{"name": []any{"@Development tools", "git"}}, false, "", false},
		{"dnf", map[string]any{"name": []any{"@RPM Development Tools", "git"}}, false, "dnf -y -q install '@RPM Development Tools'", true},
		// update_cache: refreshed before the packages are compared again,
		// never in check mode
		{"dnf", map[string]any{"name": "htop", "update_cache": true}, false, "dnf -y -q install htop", true},
		{"dnf", map[string]any{"name": "htop", "update_cache": true}, true, "", true},
		{"dnf", map[string]any{"update_cache": true}, false, "dnf -y -q makecache", false},
	}
	for _, c := range cases {
		info, _ := modules.Default.Lookup(c.module)
		m := info.New()
		if err := decodeInto(c.args, m); err != nil {
			t.Fatalf("%s %v: %v", c.module, c.args, err)
		}
		h := &rpmHost{}
		res, err := modules.Execute(context.Background(), m, &modules.Env{Host: h, Check: c.check, Vars: map[string]any{"ansible_pkg_mgr": "dnf"}})
		if err != nil || res.Failed {
			t.Fatalf("%s %v: %v %+v", c.module, c.args, err, res)
		}
		all := strings.Join(h.sent, "\n")
		if c.check && (strings.Contains(all, "makecache") || strings.Contains(all, " install ")) {
			t.Errorf("%s %v in check mode sent %q", c.module, c.args, all)
		}
		if c.args["update_cache"] == true && !c.check && c.args["name"] != nil && !strings.Contains(all, "makecache\nrpm -q") {
			t.Errorf("%s %v: the cache is not refreshed before the packages are read: %q", c.module, c.args, all)
		}
		last := h.sent[len(h.sent)-1]
		if strings.HasPrefix(last, "rpm -q") || strings.Contains(last, "check-update") || strings.Contains(last, "group list") {
			last = ""
		}
		if last != c.want || res.Changed != c.change {
			t.Errorf("%s %v check=%v: sent %q changed=%v, want %q changed=%v", c.module, c.args, c.check, last, res.Changed, c.want, c.change)
		}
	}
}

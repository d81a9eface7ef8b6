package convert_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/runbook-lab/runbook/convert"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/playbooks"
	"github.com/runbook-lab/runbook/runner"
)

var unknownModule = regexp.MustCompile(`(?:^|[^ ] |: )(?:unknown module "([^"]+)"|module "([^"]+)" is not available)`)

// invalidForAnsible are corpus playbooks that pass Ansible's syntax check
// but that Ansible refuses when it runs them: runbook refuses them before
// any host is contacted. Each is proven here by running Ansible's module
// with the same arguments.
var invalidForAnsible = map[string][2]string{
	"language_features/file_secontext.yml": {"file", "path=/tmp/runbook-corpus-probe state=touch context=default"},
	// found once their collection modules ran from Python: pip's
	// use_mirrors is gone from Ansible's pip, get_url needs dest
	"mongodb/site.yml":         {"pip", "name=pymongo use_mirrors=no"},
	"wordpress-nginx/site.yml": {"get_url", "url=https://api.wordpress.org/secret-key/1.1/salt/"},
}

// builtinModules are ansible-core's own modules (ansible-doc is the
// oracle; nil when it is not installed).
func builtinModules(t *testing.T) map[string]bool {
	out, err := exec.Command("ansible-doc", "-t", "module", "-l").Output()
	if err != nil {
		return nil
	}
	m := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(f[0], "ansible.builtin.") {
			m[strings.TrimPrefix(f[0], "ansible.builtin.")] = true
		}
	}
	return m
}

// The corpus of real public playbooks and roles (testdata/corpus, see its
// SOURCES.md), converted: every playbook that Ansible itself accepts
// (ansible-playbook --syntax-check) and that uses only ansible.builtin
// modules passes runbook's syntax check after convert. The table of
// results is logged (go test -v -run Corpus ./convert).
func TestCorpusConverts(t *testing.T) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Skip("ansible-playbook not installed (make test-deps installs it)")
	}
	builtin := builtinModules(t)
	src, _ := filepath.Abs("testdata/corpus")
	out := t.TempDir()
	known := func(m string) bool { _, ok := modules.Default.Lookup(m); return ok }
	entries, _ := os.ReadDir(src)
	var sources []string
	for _, e := range entries {
		if e.Name() != "SOURCES.md" {
			sources = append(sources, filepath.Join(src, e.Name()))
		}
	}
	r, err := convert.Tree(sources, out, known)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(r.Playbooks)
	type row struct{ name, ansible, runbook, why string }
	var rows []row
	builtinOnly, passed := 0, 0
	for _, pb := range r.Playbooks {
		rel, _ := filepath.Rel(out, pb)
		orig := filepath.Join(src, rel)
		cmd := exec.Command("ansible-playbook", "--syntax-check", "-i", "localhost,", orig)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "ANSIBLE_ROLES_PATH="+filepath.Join(src, "roles"))
		cmd.Dir = filepath.Dir(orig)
		ansibleOK := cmd.Run() == nil
		l := &playbooks.Loader{Embedded: playbooks.Embedded, Catalog: runner.Catalog{Reg: modules.Default}}
		_, lerr := l.Load(pb)
		rw := row{name: rel, ansible: map[bool]string{true: "accepts", false: "refuses"}[ansibleOK], runbook: "passes"}
		if lerr != nil {
			rw.runbook = "fails"
			var foreign []string
			for _, m := range unknownModule.FindAllStringSubmatch(lerr.Error(), -1) {
				name := m[1] + m[2]
				if builtin != nil && !builtin[strings.TrimPrefix(name, "ansible.builtin.")] {
					foreign = append(foreign, name)
				}
			}
			if len(foreign) > 0 {
				rw.why = "modules outside ansible.builtin: " + strings.Join(uniq(foreign), ", ")
			} else {
				rw.why = strings.ReplaceAll(firstLine(lerr.Error()), out+"/", "")
			}
		}
		if probe, ok := invalidForAnsible[rel]; ok && lerr != nil {
			c := exec.Command("ansible", "localhost", "-c", "local", "-i", "localhost,", "-m", probe[0], "-a", probe[1])
			c.Env = append(os.Environ(), "HOME="+t.TempDir())
			pout, err := c.CombinedOutput()
			if err == nil || !strings.Contains(string(pout), "Unsupported parameters") && !strings.Contains(string(pout), "missing required arguments") {
				t.Errorf("%s: expected Ansible to refuse %s %s at run time:\n%s", rel, probe[0], probe[1], pout)
			}
			rw.why = "Ansible refuses it at run time too (" + probe[0] + " " + probe[1] + "): " + strings.ReplaceAll(firstLine(lerr.Error()), out+"/", "")
			ansibleOK = false
			rw.ansible = "accepts, but fails when run"
		}
		if ansibleOK && !strings.HasPrefix(rw.why, "modules outside") {
			builtinOnly++
			if lerr == nil {
				passed++
			} else {
				t.Errorf("%s: Ansible accepts it and it uses only ansible.builtin modules, but after convert runbook says:\n%v", rel, lerr)
			}
		}
		rows = append(rows, rw)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| playbook | Ansible --syntax-check | runbook after convert | why not |\n|---|---|---|---|\n")
	for _, rw := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", rw.name, rw.ansible, rw.runbook, rw.why)
	}
	t.Logf("%s\n%d playbooks; %d accepted by Ansible with only ansible.builtin modules, %d of them pass after convert; %s",
		b.String(), len(rows), builtinOnly, passed, r.Summary())
}

func uniq(l []string) []string {
	sort.Strings(l)
	var out []string
	for i, s := range l {
		if i == 0 || s != l[i-1] {
			out = append(out, s)
		}
	}
	return out
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, ":") && !strings.HasSuffix(l, "errors:") {
			return strings.TrimSpace(l)
		}
	}
	return s
}

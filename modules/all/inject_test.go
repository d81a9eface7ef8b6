package all_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	_ "github.com/runbook-lab/runbook/modules/all"

	"gopkg.in/yaml.v3"
	"mvdan.cc/sh/v3/syntax"

	"github.com/runbook-lab/runbook/modules"
)

// recordingHost answers every command with a fixed result and keeps the
// scripts it was sent.
type recordingHost struct {
	rc      int
	scripts []string
}

func (h *recordingHost) Name() string { return "fake" }
func (h *recordingHost) Run(_ context.Context, c modules.Cmd) (modules.CmdResult, error) {
	h.scripts = append(h.scripts, c.Script)
	return modules.CmdResult{RC: h.rc}, nil
}

// shellCode lists the arguments that are shell code by design (they are
// the user's command); every other string must reach a shell as data.
var shellCode = map[string]bool{"command.cmd": true, "shell.cmd": true, "wait_for.cmd": true, "raw.cmd": true,
	"command.argv": true, "shell.argv": true}

const marker = "RBMARK"

var payloads = []string{
	"a;touch " + marker,
	"$(touch " + marker + ")",
	"`touch " + marker + "`",
	"'; touch " + marker + "; '",
	`"; touch ` + marker + `; "`,
	"a\ntouch " + marker + "\n",
	"a && touch " + marker,
	"a | touch " + marker,
	"x' \"$(touch " + marker + ")\" '",
	"\\'; touch " + marker + " #",
}

// Every string argument of every registered module, set to shell
// metacharacters, reaches the host's shell only as data: parsing each
// script sent (and every literal script handed to sh -c / bash -c inside
// it) finds no command touching the marker and no command substitution
// carrying it.
func TestNoModuleArgumentReachesAShellAsCode(t *testing.T) {
	// Controller-side modules (fetch) write their payload-named files
	// here, not into the source tree.
	t.Chdir(t.TempDir())
	for _, id := range modules.Default.IDs() {
		info, _ := modules.Default.Lookup(id)
		t.Run(id, func(t *testing.T) { tryPayloads(t, id, info) })
	}
}

func tryPayloads(t *testing.T, id string, info modules.Info) {
	{
		for _, field := range stringFields(reflect.ValueOf(info.New()).Elem(), "") {
			if shellCode[id+"."+field] {
				continue
			}
			for _, p := range payloads {
				for _, rc := range []int{0, 1} {
					m := fromExample(t, info)
					f := fieldByYAML(reflect.ValueOf(m).Elem(), field)
					f.SetString(p)
					if v, ok := m.(modules.Validator); ok && v.Validate() != nil {
						continue // refused before any host: safe
					}
					h := &recordingHost{rc: rc}
					ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
					func() {
						defer func() {
							if r := recover(); r != nil {
								t.Errorf("%s.%s=%q: panic %v", id, field, p, r)
							}
						}()
						modules.Execute(ctx, m, &modules.Env{Host: h, Vars: map[string]any{"inventory_hostname": "fake"}, Warn: func(string, ...any) {}})
					}()
					cancel()
					for _, s := range h.scripts {
						if bad := injected(s, 0); bad != "" {
							t.Errorf("%s.%s=%q reaches a shell as code (%s) in:\n%s", id, field, p, bad, s)
						}
					}
				}
			}
		}
	}
}

// fromExample is the module configured as its documented example, so that
// each payload goes through a valid configuration.
func fromExample(t *testing.T, info modules.Info) modules.Module {
	m := info.New()
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal([]byte(info.Example), &doc); err != nil {
		t.Fatalf("%s example: %v", info.ID, err)
	}
	if n, ok := doc[info.ID]; ok && n.Kind == yaml.MappingNode {
		n.Decode(m)
	}
	return m
}

// injected parses a script and reports how the marker became code, or "".
func injected(script string, depth int) string {
	f, err := syntax.NewParser().Parse(strings.NewReader(script), "")
	if err != nil {
		if strings.Contains(script, marker) {
			return "a quoting error breaks the script: " + err.Error()
		}
		return ""
	}
	var bad string
	syntax.Walk(f, func(n syntax.Node) bool {
		if bad != "" {
			return false
		}
		switch n := n.(type) {
		case *syntax.CmdSubst:
			if strings.Contains(text(n), marker) {
				bad = "command substitution"
			}
		case *syntax.CallExpr:
			if len(n.Args) == 0 {
				return true
			}
			name := n.Args[0].Lit()
			if name == "touch" {
				for _, a := range n.Args[1:] {
					if strings.Contains(text(a), marker) {
						bad = "a command of its own"
					}
				}
			}
			if (strings.HasSuffix(name, "sh") || name == "bash") && depth < 4 {
				for i := 1; i+1 < len(n.Args); i++ {
					if n.Args[i].Lit() == "-c" {
						if inner, ok := literal(n.Args[i+1]); ok {
							if b := injected(inner, depth+1); b != "" {
								bad = b + " inside " + name + " -c"
							}
						}
					}
				}
			}
		}
		return true
	})
	return bad
}

func text(n syntax.Node) string {
	var b strings.Builder
	syntax.NewPrinter().Print(&b, n)
	return b.String()
}

// literal is the value of a word made only of quoted or plain literal parts.
func literal(w *syntax.Word) (string, bool) {
	var b strings.Builder
	for _, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.Lit:
			b.WriteString(p.Value)
		case *syntax.SglQuoted:
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			for _, q := range p.Parts {
				l, ok := q.(*syntax.Lit)
				if !ok {
					return "", false
				}
				b.WriteString(l.Value)
			}
		default:
			return "", false
		}
	}
	return b.String(), true
}

// stringFields lists the yaml names of a module's string arguments.
func stringFields(v reflect.Value, prefix string) []string {
	var out []string
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")
		if !f.IsExported() {
			continue
		}
		if len(tag) > 1 && tag[1] == "inline" && f.Type.Kind() == reflect.Struct {
			out = append(out, stringFields(v.Field(i), prefix)...)
			continue
		}
		if f.Type.Kind() == reflect.String && tag[0] != "" && tag[0] != "-" {
			out = append(out, prefix+tag[0])
		}
	}
	return out
}

func fieldByYAML(v reflect.Value, name string) reflect.Value {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")
		if len(tag) > 1 && tag[1] == "inline" && f.Type.Kind() == reflect.Struct {
			if r := fieldByYAML(v.Field(i), name); r.IsValid() {
				return r
			}
			continue
		}
		if tag[0] == name {
			return v.Field(i)
		}
	}
	return reflect.Value{}
}

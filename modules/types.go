package modules

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Mode is a file mode written as in Ansible: 0644, "0644" or "644" all mean
// octal (a bare 644 read as decimal is Ansible's classic trap).
type Mode struct {
	Set  bool
	Perm fs.FileMode
	// Symbolic is a chmod(1)-style mode ("u+rwx", "go-w", "a-s",
	// "u=rw,g=r,o="), applied to the mode a path has; Perm is unused then.
	Symbolic string
	// Preserve is Ansible's mode: preserve (copy and template): the
	// source file's mode. The module sets Perm from the source; Set
	// stays false until it does.
	Preserve bool
}

// UnmarshalYAML reads the scalar's text as octal, or as a symbolic mode.
// An integer that comes typed from a variable (tagged, see the runner's
// rendering) is the mode's value itself: YAML read `file_mode: 0640` as
// 416, and 416 is 0o640.
func (m *Mode) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("mode: expected an octal number like 0644 or a symbolic mode like u+rwx")
	}
	if n.Tag == "!!int" && n.Style&yaml.TaggedStyle != 0 {
		v, err := strconv.ParseUint(n.Value, 0, 32)
		if err != nil || v > 0o7777 {
			return fmt.Errorf("mode: expected a file mode, got %s", n.Value)
		}
		m.Set, m.Perm = true, fs.FileMode(v)
		return nil
	}
	if n.Value == "preserve" {
		m.Preserve = true
		return nil
	}
	if symbolicMode.MatchString(n.Value) {
		m.Set, m.Symbolic = true, n.Value
		return nil
	}
	s := strings.TrimPrefix(strings.TrimPrefix(n.Value, "0o"), "0")
	if s == "" {
		s = "0"
	}
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 0o7777 {
		return fmt.Errorf("mode: expected an octal number like 0644 or a symbolic mode like u+rwx, got %q", n.Value)
	}
	m.Set, m.Perm = true, fs.FileMode(v)
	return nil
}

// symbolicMode is chmod's symbolic form as Ansible reads it: clauses of
// who (ugoa) and one or more operations, each with permissions or a who to
// copy from.
var symbolicMode = regexp.MustCompile(`^[ugoa]*(?:[-+=](?:[rwxXst]*|[ugo]))+(?:,[ugoa]*(?:[-+=](?:[rwxXst]*|[ugo]))+)*$`)

// For is the mode a path with mode cur (a directory when dir) gets: Perm,
// or the symbolic mode applied to cur, as chmod(1) and Ansible apply it
// (no who is everyone; X is x for a directory or a file executable by
// someone; s is set-user-ID for u and set-group-ID for g; t is sticky, for o).
func (m Mode) For(cur fs.FileMode, dir bool) fs.FileMode {
	if m.Symbolic == "" {
		return m.Perm
	}
	mode := cur & 0o7777
	for _, clause := range strings.Split(m.Symbolic, ",") {
		i := strings.IndexAny(clause, "-+=")
		who := clause[:i]
		if who == "" || strings.Contains(who, "a") {
			who = "ugo"
		}
		for ops := clause[i:]; ops != ""; {
			op := ops[0]
			j := strings.IndexAny(ops[1:], "-+=")
			if j < 0 {
				j = len(ops) - 1
			}
			perms := ops[1 : j+1]
			ops = ops[j+1:]
			var bits fs.FileMode
			for _, w := range who {
				bits |= permBits(w, perms, mode, dir)
			}
			switch op {
			case '+':
				mode |= bits
			case '-':
				mode &^= bits
			case '=':
				var clear fs.FileMode
				for _, w := range who {
					clear |= permBits(w, "rwxst", 0o777, true)
				}
				mode = mode&^clear | bits
			}
		}
	}
	return mode
}

// permBits are the bits that perms (rwxXst, or u/g/o to copy that class's
// bits) mean for one class of users.
func permBits(who rune, perms string, cur fs.FileMode, dir bool) fs.FileMode {
	shift := map[rune]uint{'u': 6, 'g': 3, 'o': 0}[who]
	var rwx fs.FileMode
	var bits fs.FileMode
	for _, p := range perms {
		switch p {
		case 'r':
			rwx |= 4
		case 'w':
			rwx |= 2
		case 'x':
			rwx |= 1
		case 'X':
			if dir || cur&0o111 != 0 {
				rwx |= 1
			}
		case 's':
			bits |= map[rune]fs.FileMode{'u': 0o4000, 'g': 0o2000}[who]
		case 't': // sticky, for o only (Ansible's table)
			if who == 'o' {
				bits |= 0o1000
			}
		case 'u', 'g', 'o':
			rwx |= cur >> map[rune]uint{'u': 6, 'g': 3, 'o': 0}[p] & 7
		}
	}
	return bits | rwx<<shift
}

// StringList accepts one string or a list of strings.
type StringList []string

// Items are the list's entries with each comma-separated entry split
// ("SELECT,INSERT", "8080, 8081" as Ansible's list arguments take them),
// trimmed, empty ones dropped.
func (l StringList) Items() []string {
	var out []string
	for _, s := range l {
		for _, x := range strings.Split(s, ",") {
			if x = strings.TrimSpace(x); x != "" {
				out = append(out, x)
			}
		}
	}
	return out
}

// UnmarshalYAML accepts "a" or [a, b].
func (l *StringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		if n.Tag == "!!null" {
			*l = nil
			return nil
		}
		*l = []string{n.Value}
		return nil
	}
	var out []string
	if err := n.Decode(&out); err != nil {
		return fmt.Errorf("expected a string or a list of strings")
	}
	*l = out
	return nil
}

// IntList accepts one integer or a list of them (status_code: 201).
type IntList []int

// UnmarshalYAML accepts 201, [200, 201] or "200,201" (Ansible splits a
// string given for a list at its commas).
func (l *IntList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var out IntList
		for _, part := range strings.Split(n.Value, ",") {
			v, err := strconv.Atoi(strings.TrimSpace(part))
			if err != nil {
				return fmt.Errorf("expected an integer or a list of integers")
			}
			out = append(out, v)
		}
		*l = out
		return nil
	}
	var out []int
	if err := n.Decode(&out); err != nil {
		return fmt.Errorf("expected an integer or a list of integers")
	}
	*l = out
	return nil
}

// SELinux are the SELinux context arguments of Ansible's file modules:
// accepted so that playbooks load, not applied (runbook's hosts are
// Debian; a warning says so when one is given).
type SELinux struct {
	SEType  string `yaml:"setype" doc:"SELinux type (accepted, not applied)"`
	SEUser  string `yaml:"seuser" doc:"SELinux user (accepted, not applied)"`
	SERole  string `yaml:"serole" doc:"SELinux role (accepted, not applied)"`
	SELevel string `yaml:"selevel" doc:"SELinux level (accepted, not applied)"`
	// and the other common file arguments of Ansible's, accepted
	Attributes   string `yaml:"attributes" aliases:"attr" doc:"chattr attributes (accepted, not applied)"`
	UnsafeWrites bool   `yaml:"unsafe_writes" doc:"accepted: runbook always writes atomically"`
}

// Warn says the context was not applied.
func (s SELinux) Warn(env *Env) {
	if (s.SEType != "" || s.SEUser != "" || s.SERole != "" || s.SELevel != "") && env.Warn != nil {
		env.Warn("SELinux context arguments are not applied by runbook")
	}
	if s.Attributes != "" && env.Warn != nil {
		env.Warn("file attributes (chattr) are not applied by runbook")
	}
}

// Secret is a string argument that is never printed.
type Secret string

// String hides the value.
func (Secret) String() string { return "********" }

// lines splits command output into lines, without a trailing empty one.
func lines(s string) []any {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return []any{}
	}
	parts := strings.Split(s, "\n")
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out
}

// CmdData is the register data of a command result.
func CmdData(r CmdResult) map[string]any {
	return map[string]any{
		"rc": r.RC, "stdout": strings.TrimRight(r.Stdout, "\n"), "stderr": strings.TrimRight(r.Stderr, "\n"),
		"stdout_lines": lines(r.Stdout), "stderr_lines": lines(r.Stderr),
	}
}

// Must runs a command and returns an error when it fails, naming what failed
// and the last lines of its stderr.
func Must(r CmdResult, err error, what string) (CmdResult, error) {
	if err != nil {
		return r, err
	}
	if r.RC != 0 {
		msg := strings.TrimSpace(r.Stderr)
		if msg == "" {
			msg = strings.TrimSpace(r.Stdout)
		}
		return r, fmt.Errorf("%s failed (rc=%d): %s", what, r.RC, LastLines(msg, 8))
	}
	return r, nil
}

// LastLines is the last n lines of s (for error messages).
func LastLines(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// RunOK runs a script on the host and returns an error naming what when it
// exits non-zero.
func RunOK(ctx context.Context, h Host, script, what string) (CmdResult, error) {
	r, err := h.Run(ctx, Cmd{Script: script})
	return Must(r, err, what)
}

// AnyList is a list of strings as registered data holds lists ([]any).
func AnyList(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

// MaxWaitSeconds bounds a time a task waits (pause, wait_for): a larger
// number of seconds overflows a duration and waits not at all.
const MaxWaitSeconds = 365 * 24 * 3600.0

package inventory

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/runbook-lab/runbook/internal/diag"
)

// checkText refuses a file that is not text (NUL bytes, invalid UTF-8) at
// the first bad byte, instead of reading garbage as host names.
func checkText(src *diag.Source) error {
	line, col := 1, 1
	for i := 0; i < len(src.Text); {
		r, size := utf8.DecodeRune(src.Text[i:])
		if r == 0 || r == utf8.RuneError && size == 1 {
			return diag.At(src, line, col, "inventory: not a text file (byte %#x): expected YAML or INI", src.Text[i])
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return nil
}

// checkConnValue refuses connection variables no connection can use: a
// port outside 1-65535. Templated values are left to run time. A
// connection type runbook lacks (docker, winrm) is a host's property, not
// a broken inventory: the inventory lists it as ansible-inventory does,
// and a run that targets such a host refuses it before contacting any
// (runner's preflight).
func checkConnValue(key string, v any) error {
	s := fmt.Sprint(v)
	if strings.Contains(s, "{{") {
		return nil
	}
	switch key {
	case "ansible_port", "ansible_ssh_port":
		p, err := strconv.Atoi(s)
		if err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("%s: expected a TCP port from 1 to 65535, got %q", key, s)
		}
	}
	return nil
}

// checkCycles refuses a group that is its own ancestor, naming the chain
// and where its closing edge was written.
func (inv *Inventory) checkCycles(src *diag.Source) error {
	const (
		unseen = iota
		open
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(g string) error
	visit = func(g string) error {
		state[g] = open
		stack = append(stack, g)
		for _, c := range inv.groups[g].Children {
			if c == "all" {
				// all contains every group, so a group containing all is a cycle (Ansible refuses it too)
				at := inv.edgeAt[[2]string{g, c}]
				if at[0] == 0 {
					at = [2]int{1, 1}
				}
				return diag.At(src, at[0], at[1], "group cycle: %s -> all -> %s (all contains every group; it cannot be a child)", g, g)
			}
			switch state[c] {
			case open:
				i := len(stack) - 1
				for stack[i] != c {
					i--
				}
				chain := strings.Join(append(append([]string{}, stack[i:]...), c), " -> ")
				at := inv.edgeAt[[2]string{g, c}]
				if at[0] == 0 {
					at = [2]int{1, 1}
				}
				return diag.At(src, at[0], at[1], "group cycle: %s (a group cannot contain itself)", chain)
			case unseen:
				if err := visit(c); err != nil {
					return err
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[g] = done
		return nil
	}
	for _, g := range inv.GroupNames() {
		if state[g] == unseen {
			if err := visit(g); err != nil {
				return err
			}
		}
	}
	return nil
}

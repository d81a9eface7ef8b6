// Package looseversion compares versions as Ansible's version test does
// with its default (loose) type: numeric parts as numbers, other parts as
// text, numbers after letters. Conditions and templates share it.
package looseversion

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var part = regexp.MustCompile(`\d+|[A-Za-z]+`)

// Compare is -1, 0 or 1 as a is below, equal to or above b.
func Compare(a, b string) int {
	pa, pb := part.FindAllString(a, -1), part.FindAllString(b, -1)
	for i := 0; i < len(pa) || i < len(pb); i++ {
		if i >= len(pa) {
			return -1
		}
		if i >= len(pb) {
			return 1
		}
		na, ea := strconv.Atoi(pa[i])
		nb, eb := strconv.Atoi(pb[i])
		switch {
		case ea == nil && eb == nil:
			if na != nb {
				if na < nb {
					return -1
				}
				return 1
			}
		case ea == nil:
			return 1
		case eb == nil:
			return -1
		default:
			if c := strings.Compare(pa[i], pb[i]); c != 0 {
				return c
			}
		}
	}
	return 0
}

// Test is `a is version(b, op)` with Ansible's operators (<, lt, <=, le,
// >, gt, >=, ge, ==, =, eq, !=, <>, ne).
func Test(a, b, op string) (bool, error) {
	c := Compare(a, b)
	switch op {
	case "<", "lt":
		return c < 0, nil
	case "<=", "le":
		return c <= 0, nil
	case ">", "gt":
		return c > 0, nil
	case ">=", "ge":
		return c >= 0, nil
	case "==", "=", "eq":
		return c == 0, nil
	case "!=", "<>", "ne":
		return c != 0, nil
	}
	return false, fmt.Errorf("version: unknown operator %q", op)
}

package templates

import (
	"errors"
	"fmt"
	"text/template"
	"text/template/parse"
)

// MaxOutput bounds what one template may produce: a template is a config
// file or an argument, and `repeat 2000000000` must be one clear error,
// not the machine's memory.
const MaxOutput = 64 << 20

// maxCount bounds the counts given to functions that build a string or a
// list of that size (repeat, until, randAlpha...).
const maxCount = 1 << 20

// MaxItems bounds a list built from others (a loop's combinations): the
// same bound as one template's counts.
const MaxItems = maxCount

var errTooLarge = fmt.Errorf("template output over %d MiB", MaxOutput>>20)

// limitedBuffer stops a template once its output passes MaxOutput.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if len(l.b)+len(p) > MaxOutput {
		return 0, errTooLarge
	}
	l.b = append(l.b, p...)
	return len(p), nil
}

func countOK(name string, n int) error {
	if n < 0 || n > maxCount {
		return fmt.Errorf("count %d out of range for %s (0 to %d)", n, name, maxCount)
	}
	return nil
}

// bound wraps sprig's size-taking functions with a limit on their count.
func bound(m template.FuncMap) {
	repeat := m["repeat"].(func(int, string) string)
	m["repeat"] = func(n int, s string) (string, error) {
		if err := countOK("repeat", n); err != nil {
			return "", err
		}
		if n*len(s) > MaxOutput {
			return "", errTooLarge
		}
		return repeat(n, s), nil
	}
	until := m["until"].(func(int) []int)
	m["until"] = func(n int) ([]int, error) {
		if err := countOK("until", n); err != nil {
			return nil, err
		}
		return until(n), nil
	}
	untilStep := m["untilStep"].(func(int, int, int) []int)
	m["untilStep"] = func(start, stop, step int) ([]int, error) {
		if step != 0 {
			if n := (stop - start) / step; n > maxCount {
				return nil, countOK("untilStep", n)
			}
		}
		return untilStep(start, stop, step), nil
	}
	seq := m["seq"].(func(...int) string)
	m["seq"] = func(p ...int) (string, error) {
		lo, hi, step := 1, 0, 1
		switch len(p) {
		case 1:
			hi = p[0]
		case 2:
			lo, hi = p[0], p[1]
		case 3:
			lo, step, hi = p[0], p[1], p[2]
		}
		if step != 0 {
			n := (hi - lo) / step
			if n < 0 {
				n = -n
			}
			if err := countOK("seq", n); err != nil {
				return "", err
			}
		}
		return seq(p...), nil
	}
	for _, name := range []string{"randAlphaNum", "randAlpha", "randAscii", "randNumeric"} {
		f := m[name].(func(int) string)
		name := name
		m[name] = func(n int) (string, error) {
			if err := countOK(name, n); err != nil {
				return "", err
			}
			return f(n), nil
		}
	}
	for _, name := range []string{"indent", "nindent"} {
		f := m[name].(func(int, string) string)
		name := name
		m[name] = func(n int, s string) (string, error) {
			if err := countOK(name, n); err != nil {
				return "", err
			}
			return f(n, s), nil
		}
	}
}

// checkRanges refuses `range N` over a number literal above the limit: it
// would spin for minutes producing nothing.
func checkRanges(t *template.Template) error {
	var walk func(n parse.Node) error
	walk = func(n parse.Node) error {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return nil
			}
			for _, c := range n.Nodes {
				if err := walk(c); err != nil {
					return err
				}
			}
		case *parse.RangeNode:
			if p := n.Pipe; p != nil && len(p.Cmds) == 1 && len(p.Cmds[0].Args) == 1 {
				if num, ok := p.Cmds[0].Args[0].(*parse.NumberNode); ok && num.IsInt && (num.Int64 > maxCount || num.Int64 < 0) {
					return fmt.Errorf("range %d: count out of range (0 to %d)", num.Int64, maxCount)
				}
			}
			if err := walk(n.List); err != nil {
				return err
			}
			return walk(n.ElseList)
		case *parse.IfNode:
			if err := walk(n.List); err != nil {
				return err
			}
			return walk(n.ElseList)
		case *parse.WithNode:
			if err := walk(n.List); err != nil {
				return err
			}
			return walk(n.ElseList)
		}
		return nil
	}
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			if err := walk(tt.Tree.Root); err != nil {
				return err
			}
		}
	}
	return nil
}

// IsTooLarge reports whether err is the output bound.
func IsTooLarge(err error) bool { return errors.Is(err, errTooLarge) }

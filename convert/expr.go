package convert

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/runbook-lab/runbook/internal/cond"
)

// node is a parsed Jinja expression.
type node interface{}

type (
	lit  struct{ text string } // a Go template literal: "s", 1, true, nil
	name struct{ name string }
	attr struct {
		x    node
		name string
	}
	index struct{ x, i node }
	// slice is x[lo:hi]; a bound left out is nil
	slice struct{ x, lo, hi, step node }
	call  struct {
		fn     node
		args   []node
		kwargs map[string]node
	}
	filter struct {
		x      node
		name   string
		args   []node
		kwargs map[string]node
	}
	test struct {
		x      node
		name   string
		args   []node
		negate bool
	}
	binop struct {
		op   string
		l, r node
	}
	unop struct {
		op string
		x  node
	}
	ternaryOp struct{ then, c, els node }
	list      struct{ items []node }
	dict      struct{ keys, vals []node }
)

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i++; return t }
func (p *parser) is(kind tokKind, v string) bool {
	t := p.peek()
	return t.kind == kind && t.val == v
}
func (p *parser) accept(kind tokKind, v string) bool {
	if p.is(kind, v) {
		p.i++
		return true
	}
	return false
}
func (p *parser) expect(kind tokKind, v string) error {
	if !p.accept(kind, v) {
		return fmt.Errorf("expected %q at %d, got %q", v, p.peek().pos, p.peek().val)
	}
	return nil
}

// parseExpr parses a whole Jinja expression.
func parseExpr(s string) (node, error) {
	toks, err := lex(cond.ShortNames(s)) // `| ansible.builtin.to_json` is to_json

	if err != nil {
		return nil, err
	}
	if err := tooBig(toks); err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.ternary()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tEOF {
		return nil, fmt.Errorf("unexpected %q at %d", p.peek().val, p.peek().pos)
	}
	return n, nil
}

// Bounds on one expression: the translation nests a call per filter and
// per bracket, and its cost grows with the square of the nesting (100,000
// chained filters did not finish in a minute). Real expressions stay far
// below both.
const (
	maxFilters = 1000
	maxNesting = 100
)

func tooBig(toks []token) error {
	filters, depth := 0, 0
	for _, t := range toks {
		if t.kind != tOp {
			continue
		}
		switch t.val {
		case "|":
			if filters++; filters > maxFilters {
				return fmt.Errorf("more than %d filters in one expression", maxFilters)
			}
		case "(", "[", "{":
			if depth++; depth > maxNesting {
				return fmt.Errorf("brackets nested deeper than %d levels at %d", maxNesting, t.pos)
			}
		case ")", "]", "}":
			depth--
		}
	}
	return nil
}

func (p *parser) ternary() (node, error) {
	x, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.accept(tName, "if") {
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		var els node = lit{`""`}
		if p.accept(tName, "else") {
			if els, err = p.ternary(); err != nil {
				return nil, err
			}
		}
		return ternaryOp{x, c, els}, nil
	}
	return x, nil
}

func (p *parser) or() (node, error) {
	l, err := p.and()
	for err == nil && p.accept(tName, "or") {
		var r node
		r, err = p.and()
		l = binop{"or", l, r}
	}
	return l, err
}

func (p *parser) and() (node, error) {
	l, err := p.not()
	for err == nil && p.accept(tName, "and") {
		var r node
		r, err = p.not()
		l = binop{"and", l, r}
	}
	return l, err
}

func (p *parser) not() (node, error) {
	if p.accept(tName, "not") {
		x, err := p.not()
		return unop{"not", x}, err
	}
	return p.compare()
}

func (p *parser) compare() (node, error) {
	l, err := p.concat()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		switch {
		case t.kind == tOp && (t.val == "==" || t.val == "!=" || t.val == "<" || t.val == ">" || t.val == "<=" || t.val == ">="):
			p.i++
			r, err := p.concat()
			if err != nil {
				return nil, err
			}
			l = binop{t.val, l, r}
		case t.kind == tName && t.val == "in":
			p.i++
			r, err := p.concat()
			if err != nil {
				return nil, err
			}
			l = binop{"in", l, r}
		case t.kind == tName && t.val == "not" && p.toks[p.i+1].kind == tName && p.toks[p.i+1].val == "in":
			p.i += 2
			r, err := p.concat()
			if err != nil {
				return nil, err
			}
			l = unop{"not", binop{"in", l, r}}
		case t.kind == tName && t.val == "is":
			p.i++
			neg := p.accept(tName, "not")
			nt := p.next()
			if nt.kind != tName {
				return nil, fmt.Errorf("expected a test name after is, at %d", nt.pos)
			}
			tst := test{x: l, name: nt.val, negate: neg}
			if p.accept(tOp, "(") {
				args, _, err := p.args()
				if err != nil {
					return nil, err
				}
				tst.args = args
			} else if k := p.peek(); k.kind == tStr || k.kind == tNum || k.kind == tName && (k.val == "true" || k.val == "false" || k.val == "none" || k.val == "True" || k.val == "False" || k.val == "None") {
				a, err := p.concat() // `x is version '1.0'`
				if err != nil {
					return nil, err
				}
				tst.args = []node{a}
			}
			if l, err = p.filtersOn(tst); err != nil {
				return nil, err
			}
		default:
			return l, nil
		}
	}
}

func (p *parser) concat() (node, error) {
	l, err := p.additive()
	for err == nil && p.accept(tOp, "~") {
		var r node
		r, err = p.additive()
		l = binop{"~", l, r}
	}
	return l, err
}

func (p *parser) additive() (node, error) {
	l, err := p.mult()
	for err == nil && (p.is(tOp, "+") || p.is(tOp, "-")) {
		op := p.next().val
		var r node
		r, err = p.mult()
		l = binop{op, l, r}
	}
	return l, err
}

func (p *parser) mult() (node, error) {
	l, err := p.pow()
	for err == nil && (p.is(tOp, "*") || p.is(tOp, "/") || p.is(tOp, "//") || p.is(tOp, "%")) {
		op := p.next().val
		var r node
		r, err = p.pow()
		l = binop{op, l, r}
	}
	return l, err
}

// pow is Jinja's **: tighter than * and looser than a sign, and, unlike
// Python's, from the left (2 ** 3 ** 2 is 64 in a template).
func (p *parser) pow() (node, error) {
	l, err := p.unary()
	for err == nil && p.is(tOp, "**") {
		p.next()
		var r node
		r, err = p.unary()
		l = binop{"**", l, r}
	}
	return l, err
}

func (p *parser) unary() (node, error) {
	if p.accept(tOp, "-") {
		x, err := p.unary()
		return unop{"-", x}, err
	}
	return p.filtered()
}

func (p *parser) filtered() (node, error) {
	x, err := p.postfix()
	if err != nil {
		return nil, err
	}
	return p.filtersOn(x)
}

// filtersOn applies the filters that follow to x (Jinja chains filters
// and tests left to right: `x is defined | ternary(a, b)` filters the
// test's result).
func (p *parser) filtersOn(x node) (node, error) {
	var err error
	for err == nil && p.accept(tOp, "|") {
		nt := p.next()
		if nt.kind != tName {
			return nil, fmt.Errorf("expected a filter name at %d", nt.pos)
		}
		f := filter{x: x, name: nt.val}
		if p.accept(tOp, "(") {
			f.args, f.kwargs, err = p.args()
		}
		x = f
	}
	return x, err
}

func (p *parser) postfix() (node, error) {
	x, err := p.primary()
	for err == nil {
		switch {
		case p.accept(tOp, "."):
			t := p.next()
			if t.kind != tName && t.kind != tNum {
				return nil, fmt.Errorf("expected an attribute at %d", t.pos)
			}
			x = attr{x, t.val}
		case p.accept(tOp, "["):
			var i, hi node
			if p.is(tOp, "]") {
				return nil, fmt.Errorf("an empty index []")
			}
			if !p.is(tOp, ":") {
				if i, err = p.ternary(); err != nil {
					return nil, err
				}
			}
			if !p.accept(tOp, ":") {
				if err = p.expect(tOp, "]"); err == nil {
					x = index{x, i}
				}
				continue
			}
			if !p.is(tOp, "]") && !p.is(tOp, ":") {
				if hi, err = p.ternary(); err != nil {
					return nil, err
				}
			}
			var step node
			if p.accept(tOp, ":") && !p.is(tOp, "]") {
				if step, err = p.ternary(); err != nil {
					return nil, err
				}
			}
			if err = p.expect(tOp, "]"); err == nil {
				x = slice{x, i, hi, step}
			}
		case p.accept(tOp, "("):
			var c call
			c.fn = x
			c.args, c.kwargs, err = p.args()
			x = c
		default:
			return x, nil
		}
	}
	return x, err
}

// args reads call arguments after "(" up to ")".
func (p *parser) args() ([]node, map[string]node, error) {
	var args []node
	kw := map[string]node{}
	for !p.accept(tOp, ")") {
		if p.peek().kind == tName && p.toks[p.i+1].kind == tOp && p.toks[p.i+1].val == "=" {
			k := p.next().val
			p.i++
			v, err := p.ternary()
			if err != nil {
				return nil, nil, err
			}
			kw[k] = v
		} else {
			a, err := p.ternary()
			if err != nil {
				return nil, nil, err
			}
			args = append(args, a)
		}
		if !p.accept(tOp, ",") {
			if err := p.expect(tOp, ")"); err != nil {
				return nil, nil, err
			}
			break
		}
	}
	return args, kw, nil
}

func (p *parser) primary() (node, error) {
	t := p.next()
	switch t.kind {
	case tNum:
		return lit{t.val}, nil
	case tStr:
		return lit{strconv.Quote(t.val)}, nil
	case tName:
		switch t.val {
		case "true", "True":
			return lit{"true"}, nil
		case "false", "False":
			return lit{"false"}, nil
		case "none", "None":
			return lit{"nil"}, nil
		}
		return name{t.val}, nil
	case tOp:
		switch t.val {
		case "(":
			x, err := p.ternary()
			if err != nil {
				return nil, err
			}
			if p.is(tOp, ",") { // a tuple: a list
				items := []node{x}
				for p.accept(tOp, ",") && !p.is(tOp, ")") {
					y, err := p.ternary()
					if err != nil {
						return nil, err
					}
					items = append(items, y)
				}
				return list{items}, p.expect(tOp, ")")
			}
			return x, p.expect(tOp, ")")
		case "[":
			var items []node
			for !p.accept(tOp, "]") {
				x, err := p.ternary()
				if err != nil {
					return nil, err
				}
				items = append(items, x)
				if !p.accept(tOp, ",") {
					if err := p.expect(tOp, "]"); err != nil {
						return nil, err
					}
					break
				}
			}
			return list{items}, nil
		case "{":
			var d dict
			for !p.accept(tOp, "}") {
				k, err := p.ternary()
				if err != nil {
					return nil, err
				}
				if err := p.expect(tOp, ":"); err != nil {
					return nil, err
				}
				v, err := p.ternary()
				if err != nil {
					return nil, err
				}
				d.keys, d.vals = append(d.keys, k), append(d.vals, v)
				if !p.accept(tOp, ",") {
					if err := p.expect(tOp, "}"); err != nil {
						return nil, err
					}
					break
				}
			}
			return d, nil
		}
	}
	return nil, fmt.Errorf("unexpected %q at %d", t.val, t.pos)
}

// trimParens drops the outer parentheses of an emitted operand, for the
// top of an action ({{ f x }} rather than {{ (f x) }}).
func trimParens(s string) string {
	if !strings.HasPrefix(s, "(") || !strings.HasSuffix(s, ")") {
		return s
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 && i < len(s)-1 {
				return s // (a) (b): two operands
			}
		}
	}
	return s[1 : len(s)-1]
}

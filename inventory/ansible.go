package inventory

import (
	"fmt"
	"strconv"
	"strings"
)

// maxRangeHosts bounds one host line's expansion.
const maxRangeHosts = 100000

// expandRange expands Ansible's host ranges: "db[1:3]" is db1, db2, db3,
// "app[01:10:2]" keeps the zero padding and steps by 2, "[a:c]" is
// letters. A name without a range is itself.
func expandRange(name string) ([]string, error) {
	open := strings.IndexByte(name, '[')
	if open < 0 {
		return []string{name}, nil
	}
	end := strings.IndexByte(name[open:], ']')
	if end < 0 {
		return nil, fmt.Errorf("host range %q: no closing ]", name)
	}
	end += open
	spec, head, tail := name[open+1:end], name[:open], name[end+1:]
	parts := strings.Split(spec, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return nil, fmt.Errorf("host range %q: expected [start:end] or [start:end:step]", name)
	}
	step := 1
	if len(parts) == 3 {
		s, err := strconv.Atoi(parts[2])
		if err != nil || s < 1 {
			return nil, fmt.Errorf("host range %q: step must be a number above 0", name)
		}
		step = s
	}
	rest, err := expandRange(tail)
	if err != nil {
		return nil, err
	}
	var items []string
	lo, hi := parts[0], parts[1]
	if a, err1 := strconv.Atoi(lo); err1 == nil {
		b, err2 := strconv.Atoi(hi)
		if err2 != nil || b < a {
			return nil, fmt.Errorf("host range %q: end must be a number not below the start", name)
		}
		if (b-a)/step > maxRangeHosts {
			return nil, fmt.Errorf("host range %q: more than %d hosts", name, maxRangeHosts)
		}
		width := 0
		if len(lo) > 1 && lo[0] == '0' {
			width = len(lo)
		}
		for i := a; i <= b; i += step {
			items = append(items, fmt.Sprintf("%0*d", width, i))
		}
	} else if len(lo) == 1 && len(hi) == 1 && lo <= hi {
		for c := lo[0]; c <= hi[0]; c += byte(step) {
			items = append(items, string(c))
			if int(c)+step > 255 {
				break
			}
		}
	} else {
		return nil, fmt.Errorf("host range %q: expected numbers or single letters", name)
	}
	if len(items)*len(rest) > maxRangeHosts {
		return nil, fmt.Errorf("host range %q: more than %d hosts", name, maxRangeHosts)
	}
	var out []string
	for _, it := range items {
		for _, r := range rest {
			out = append(out, head+it+r)
		}
	}
	return out, nil
}

// iniLiteral types an INI value as Ansible does (Python's
// ast.literal_eval, else the string): 42, -3, 0x1F, 1.5, 1e3, True, None,
// [1, 2], {'a': 1}, (1, 2) are typed; 0644, true and yes stay strings.
func iniLiteral(v string) any {
	s := strings.TrimSpace(v)
	p := &pyParser{s: s}
	val, ok := p.value()
	// after a whole literal only a comment may follow, as Python's
	// tokenizer reads it ("x"  # note)
	if end := p.skipSpace(); !ok || end < len(s) && s[end] != '#' {
		return v
	}
	return val
}

// pyParser reads the subset of Python literals INI inventories use.
type pyParser struct {
	s string
	i int
}

func (p *pyParser) skipSpace() int {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
	return p.i
}

func (p *pyParser) value() (any, bool) {
	p.skipSpace()
	if p.i >= len(p.s) {
		return nil, false
	}
	switch c := p.s[p.i]; {
	case c == '[' || c == '(':
		return p.list(map[byte]byte{'[': ']', '(': ')'}[c])
	case c == '{':
		return p.dict()
	case c == '\'' || c == '"':
		// adjacent strings are one ('a' 'b' is 'ab'), as Python joins them
		var b strings.Builder
		for p.i < len(p.s) && (p.s[p.i] == '\'' || p.s[p.i] == '"') {
			part, ok := p.str(p.s[p.i])
			if !ok {
				return nil, false
			}
			b.WriteString(part.(string))
			p.skipSpace()
		}
		return b.String(), true
	}
	j := p.i
	for j < len(p.s) && !strings.ContainsRune(" \t,:]})", rune(p.s[j])) {
		j++
	}
	tok := p.s[p.i:j]
	p.i = j
	switch tok {
	case "True":
		return true, true
	case "False":
		return false, true
	case "None":
		return nil, true
	}
	return pyNumber(tok)
}

// pyNumber reads a Python int or float literal (no leading zeros).
func pyNumber(tok string) (any, bool) {
	t := strings.ReplaceAll(strings.TrimLeft(tok, "+-"), "_", "")
	if t == "" {
		return nil, false
	}
	neg := strings.HasPrefix(tok, "-")
	if len(t) > 1 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X' || t[1] == 'o' || t[1] == 'O' || t[1] == 'b' || t[1] == 'B') {
		n, err := strconv.ParseInt(t, 0, 64)
		if err != nil {
			return nil, false
		}
		if neg {
			n = -n
		}
		return int(n), true
	}
	if n, err := strconv.Atoi(t); err == nil {
		if len(t) > 1 && t[0] == '0' && strings.Trim(t, "0") != "" {
			return nil, false // 0644: a syntax error in Python 3
		}
		if neg {
			n = -n
		}
		return n, true
	}
	if strings.ContainsAny(t, ".eE") && !strings.ContainsAny(t, "xX") {
		if f, err := strconv.ParseFloat(t, 64); err == nil && t[0] != 'e' && t[0] != 'E' {
			if neg {
				f = -f
			}
			return f, true
		}
	}
	return nil, false
}

func (p *pyParser) str(q byte) (any, bool) {
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '\\' && p.i+1 < len(p.s) {
			b.WriteByte(p.s[p.i+1])
			p.i += 2
			continue
		}
		p.i++
		if c == q {
			return b.String(), true
		}
		b.WriteByte(c)
	}
	return nil, false
}

func (p *pyParser) list(closer byte) (any, bool) {
	p.i++
	out := []any{}
	for {
		if p.skipSpace(); p.i < len(p.s) && p.s[p.i] == closer {
			p.i++
			return out, true
		}
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		out = append(out, v)
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.s) && p.s[p.i] == closer {
			p.i++
			return out, true
		}
		return nil, false
	}
}

func (p *pyParser) dict() (any, bool) {
	p.i++
	out := map[string]any{}
	for {
		if p.skipSpace(); p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return out, true
		}
		k, ok := p.value()
		if !ok {
			return nil, false
		}
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, false
		}
		p.i++
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		out[fmt.Sprint(k)] = v
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return out, true
		}
		return nil, false
	}
}

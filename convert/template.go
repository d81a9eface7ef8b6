package convert

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Issue is a construct convert could not convert, at its place.
type Issue struct {
	File      string
	Line, Col int
	Msg       string
}

func (i Issue) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", i.File, i.Line, i.Col, i.Msg)
}

// lineCol is the 1-based line and column of offset in text.
func lineCol(text string, offset int) (int, int) {
	line := 1 + strings.Count(text[:offset], "\n")
	col := offset - strings.LastIndex(text[:offset], "\n")
	return line, col
}

// templateConv converts one text.
type templateConv struct {
	file   bool // a template file: values print as Python prints them
	text   string
	out    strings.Builder
	issues []Issue
	scopes []*scope
	ends   []int // for each open if/for: how many {{ end }} close it
	loops  int
}

// macroRE is {% macro name(a, b='x') %}.
var macroRE = regexp.MustCompile(`^macro\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(([^()]*)\)\s*$`)

func (c *templateConv) sc() *scope { return c.scopes[len(c.scopes)-1] }

func (c *templateConv) issue(offset int, format string, args ...any) {
	l, col := lineCol(c.text, offset)
	c.issues = append(c.issues, Issue{Line: l, Col: col, Msg: fmt.Sprintf(format, args...)})
}

// failAction is written where something could not be converted: the
// converted file still parses, and a run that reaches it fails saying what.
func failAction(original string) string {
	// the message carries no quote characters and no template braces: the
	// action may sit inside a key=value line, whose quotes are not
	// Jinja-aware, and whose braces would nest
	msg := strings.NewReplacer(`'`, "’", `"`, "”", "{{", "{ {", "}}", "} }", "{%", "{ %", "%}", "% }").Replace(strings.TrimSpace(original))
	return "{{ fail " + strconv.Quote("runbook convert could not convert: "+msg) + " }}"
}

// Template converts a Jinja2 text (a .j2 file, or a playbook's string) to
// a Go template with Ansible's template settings (trim_blocks on).
func Template(text string) (string, []Issue) {
	return convertText(text, false)
}

// TemplateFile converts a .j2 template file: variables are $.x (so that
// they mean the same inside a range), values print as Python prints them
// (True, ['a']), and the file's trailing newlines survive as Ansible keeps
// them.
func TemplateFile(text string) (string, []Issue) {
	trailing := len(text) - len(strings.TrimRight(text, "\n"))
	src := strings.TrimSuffix(text, "\n") // Jinja drops one final newline
	out, issues := convertText(src, true)
	// Ansible adds back what the rendering lost of the file's trailing
	// newlines: judged here by the text before the closing {{ end }}s
	tail := out
	for {
		t := strings.TrimSuffix(strings.TrimSuffix(tail, "{{ end }}"), "{{- end }}")
		if t == tail {
			break
		}
		tail = t
	}
	have := len(tail) - len(strings.TrimRight(tail, "\n"))
	if have < trailing {
		out += strings.Repeat("\n", trailing-have)
	}
	return out, issues
}

func convertText(text string, file bool) (string, []Issue) {
	c := &templateConv{text: text, file: file, scopes: []*scope{{locals: map[string]string{}, inRange: file}}}
	i := 0
	for i < len(text) {
		j := nextTag(text, i)
		if j < 0 {
			c.out.WriteString(text[i:])
			break
		}
		c.out.WriteString(text[i:j])
		var next int
		switch text[j+1] {
		case '{':
			next = c.expression(j)
		case '%':
			next = c.statement(j)
		case '#':
			next = c.comment(j)
		}
		i = next
	}
	if len(c.ends) > 0 {
		c.issue(len(text), "%d unclosed {%% if %%} or {%% for %%}", len(c.ends))
		for range c.ends {
			c.out.WriteString("{{ end }}")
		}
	}
	return c.out.String(), c.issues
}

func nextTag(text string, from int) int {
	best := -1
	for _, d := range []string{"{{", "{%", "{#"} {
		if k := strings.Index(text[from:], d); k >= 0 && (best < 0 || from+k < best) {
			best = from + k
		}
	}
	return best
}

// closing finds the end delimiter of a tag, skipping strings.
func closing(text string, from int, delim string) int {
	depth := 0 // open brackets: a dict's "}}" inside the expression is not the end (as Jinja's lexer balances them)
	for i := from; i < len(text); i++ {
		switch {
		case text[i] == '"' || text[i] == '\'':
			q := text[i]
			for i++; i < len(text) && text[i] != q; i++ {
				if text[i] == '\\' {
					i++
				}
			}
		case depth == 0 && strings.HasPrefix(text[i:], delim):
			return i
		case strings.IndexByte("{([", text[i]) >= 0:
			depth++
		case strings.IndexByte("})]", text[i]) >= 0 && depth > 0:
			depth--
		}
	}
	return -1
}

// tagParts splits a tag's inside from its whitespace-control marks.
func tagParts(inner string) (left, body, right string) {
	if strings.HasPrefix(inner, "-") || strings.HasPrefix(inner, "+") {
		if inner[0] == '-' {
			left = "-"
		}
		inner = inner[1:]
	}
	if strings.HasSuffix(inner, "-") || strings.HasSuffix(inner, "+") {
		if inner[len(inner)-1] == '-' {
			right = "-"
		}
		inner = inner[:len(inner)-1]
	}
	return left, strings.TrimSpace(inner), right
}

func action(left, body, right string) string {
	l, r := "{{ ", " }}"
	if left == "-" {
		l = "{{- "
	}
	if right == "-" {
		r = " -}}"
	}
	return l + body + r
}

func (c *templateConv) expression(at int) int {
	end := closing(c.text, at+2, "}}")
	if end < 0 {
		c.issue(at, "{{ without }}")
		c.out.WriteString(`{{"{{"}}`)
		return at + 2
	}
	left, body, right := tagParts(c.text[at+2 : end])
	if stmt, ok := c.mutation(strings.TrimSpace(body)); ok {
		// {{ l.append(x) }}: Ansible prints nothing for the None it returns
		if stmt != "" {
			c.out.WriteString(action(left, stmt, right))
		}
		return end + 2
	}
	e, n, err := c.sc().exprNode(body)
	if err != nil {
		c.issue(at, "{{ %s }}: %v", body, err)
		c.out.WriteString(failAction("{{ " + body + " }}"))
		return end + 2
	}
	whole := at == 0 && end+2 == len(c.text)
	if (c.file && !stringy(n)) || (!c.file && !whole && boolish(n)) {
		e = "py " + wrapOperand(e) // print as Jinja does: True, ['a']
	}
	c.out.WriteString(action(left, e, right))
	return end + 2
}

func (c *templateConv) comment(at int) int {
	end := strings.Index(c.text[at+2:], "#}")
	if end < 0 {
		c.issue(at, "{# without #}")
		return len(c.text)
	}
	body := strings.ReplaceAll(strings.Trim(c.text[at+2:at+2+end], "-"), "*/", "* /")
	c.out.WriteString("{{/*" + body + "*/}}")
	return c.trimBlock(at + 2 + end + 2)
}

// trimBlock is Ansible's trim_blocks: the newline after a block tag goes.
func (c *templateConv) trimBlock(i int) int {
	if strings.HasPrefix(c.text[i:], "\r\n") {
		return i + 2
	}
	if strings.HasPrefix(c.text[i:], "\n") {
		return i + 1
	}
	return i
}

var forRE = regexp.MustCompile(`^for\s+\(?\s*([A-Za-z_]\w*)\s*(?:,\s*([A-Za-z_]\w*)\s*)?\)?\s+in\s+(.+?)(?:\s+if\s+(.+?))?(\s+recursive)?$`)
var setRE = regexp.MustCompile(`^set\s+([A-Za-z_]\w*)\s*=\s*(.+)$`)

// mutateRE is a call that changes a template variable in place:
// l.append(x), l.extend(y), d.update(z).
var mutateRE = regexp.MustCompile(`^([A-Za-z_]\w*)\.(append|extend|update)\((.+)\)$`)

func (c *templateConv) statement(at int) int {
	end := closing(c.text, at+2, "%}")
	if end < 0 {
		c.issue(at, "{%% without %%}")
		c.out.WriteString(`{{"{%"}}`)
		return at + 2
	}
	left, body, right := tagParts(c.text[at+2 : end])
	next := c.trimBlock(end + 2)
	word, rest, _ := strings.Cut(body, " ")
	rest = strings.TrimSpace(rest)
	expr := func(s string) (string, bool) {
		e, err := c.sc().Expr(s)
		if err != nil {
			c.issue(at, "{%% %s %%}: %v", body, err)
			return "", false
		}
		return e, true
	}
	switch word {
	case "if":
		e, ok := expr(rest)
		if !ok {
			e = `fail "` + "not converted" + `"`
		}
		c.out.WriteString(action(left, "if "+e, right))
		c.ends = append(c.ends, 1)
		c.scopes = append(c.scopes, c.sc().child())
	case "elif", "else":
		if len(c.ends) == 0 {
			c.issue(at, "{%% %s %%} without its if or for", word)
			return next
		}
		if word == "else" {
			c.out.WriteString(action(left, "else", right))
			return next
		}
		e, ok := expr(rest)
		if !ok {
			e = `fail "not converted"`
		}
		c.out.WriteString(action(left, "else if "+e, right))
	case "endif", "endfor":
		if len(c.ends) == 0 {
			c.issue(at, "{%% %s %%} without its opening tag", word)
			return next
		}
		n := c.ends[len(c.ends)-1]
		c.ends = c.ends[:len(c.ends)-1]
		c.scopes = c.scopes[:len(c.scopes)-1]
		for k := 0; k < n; k++ {
			if k == n-1 {
				c.out.WriteString(action(left, "end", right))
			} else {
				c.out.WriteString("{{ end }}")
			}
		}
	case "for":
		m := forRE.FindStringSubmatch(body)
		if m == nil || m[5] != "" {
			c.issue(at, "{%% %s %%}: this form of for is not converted", body)
			c.out.WriteString(failAction("{% " + body + " %}"))
			c.ends = append(c.ends, 0)
			c.scopes = append(c.scopes, c.sc().child())
			return next
		}
		coll, ok := expr(m[3])
		if !ok {
			coll = "(list)"
		}
		inner := c.sc().child()
		inner.inRange = true
		if in, err := inner.Expr(m[3]); err == nil {
			coll = in // inside the range the dot has moved: $.x
		}
		c.loops++
		idx := fmt.Sprintf("$loop%d", c.loops)
		var head string
		if m[2] != "" { // for k, v in mapping.items()
			inner.locals[m[1]], inner.locals[m[2]] = "$"+m[1], "$"+m[2]
			head = fmt.Sprintf("range $%s, $%s := %s", m[1], m[2], wrapOperand(coll))
			inner.loops = append(inner.loops, loopInfo{coll: wrapOperand(coll)})
		} else {
			inner.locals[m[1]] = "$" + m[1]
			head = fmt.Sprintf("range %s, $%s := %s", idx, m[1], wrapOperand(coll))
			inner.loops = append(inner.loops, loopInfo{index: idx, coll: wrapOperand(coll)})
		}
		c.out.WriteString(action(left, head, right))
		c.scopes = append(c.scopes, inner)
		if m[4] != "" {
			e, ok := expr(m[4])
			if !ok {
				e = `fail "not converted"`
			}
			c.out.WriteString("{{ if " + e + " }}")
			c.ends = append(c.ends, 2)
		} else {
			c.ends = append(c.ends, 1)
		}
	case "set":
		m := setRE.FindStringSubmatch(body)
		if m == nil {
			c.issue(at, "{%% %s %%}: only `set name = expression` is converted", body)
			c.out.WriteString(failAction("{% " + body + " %}"))
			return next
		}
		if stmt, ok := c.mutation(strings.TrimSpace(m[2])); ok {
			// {% set _ = l.append(x) %}: Jinja's way to change a list or
			// mapping in place
			if stmt != "" {
				c.out.WriteString(action(left, stmt, right))
			}
			return next
		}
		e, ok := expr(m[2])
		if !ok {
			return next
		}
		op := ":="
		if v, declared := c.sc().locals[m[1]]; declared && v == "$"+m[1] {
			op = "="
		}
		c.sc().locals[m[1]] = "$" + m[1]
		c.out.WriteString(action(left, "$"+m[1]+" "+op+" "+wrapOperand(e), right))
	case "macro":
		m := macroRE.FindStringSubmatch(body)
		if m == nil || len(c.ends) > 0 || !c.file {
			c.issue(at, "{%% %s %%}: only a macro at a template file's top level, with plain parameters, is converted", body)
			c.out.WriteString(failAction("{% " + body + " %}"))
			return next
		}
		var params []macroParam
		for _, p := range strings.Split(m[2], ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			pname, def, hasDef := strings.Cut(p, "=")
			param := macroParam{name: strings.TrimSpace(pname)}
			if hasDef {
				e, ok := expr(def)
				if !ok {
					return next
				}
				param.def = e
			}
			params = append(params, param)
		}
		if c.sc().macros == nil {
			c.sc().macros = map[string][]macroParam{}
		}
		c.sc().macros[m[1]] = params
		// its body reads its parameters and the template's variables from
		// the dot the call gives it, both as template variables
		inner := c.sc().child()
		inner.locals = map[string]string{}
		inner.loops = nil
		c.out.WriteString(action(left, "define "+strconv.Quote("macro_"+m[1]), right))
		c.scopes = append(c.scopes, inner)
		c.ends = append(c.ends, 1)
	case "endmacro":
		if len(c.ends) == 0 {
			c.issue(at, "{%% endmacro %%} without its macro")
			return next
		}
		c.ends = c.ends[:len(c.ends)-1]
		c.scopes = c.scopes[:len(c.scopes)-1]
		c.out.WriteString(action(left, "end", right))
	case "raw":
		stop := regexp.MustCompile(`\{%-?\s*endraw\s*-?%\}`).FindStringIndex(c.text[next:])
		if stop == nil {
			c.issue(at, "{%% raw %%} without {%% endraw %%}")
			return len(c.text)
		}
		raw := c.text[next : next+stop[0]]
		// every brace an action of its own: a "{" at either end must not
		// join a neighbour's into "{{"
		c.out.WriteString(strings.ReplaceAll(raw, "{", `{{"{"}}`))
		return c.trimBlock(next + stop[1])
	case "block", "endblock":
		// a template rendered itself (nothing extends it here: extends is
		// not converted) renders its blocks' content in place
		l, r := "{{", "}}"
		if left == "-" {
			l = "{{- "
		}
		if right == "-" {
			r = " -}}"
		}
		c.out.WriteString(l + "/* " + word + " */" + r)
	default:
		c.issue(at, "{%% %s %%} is not converted (runbook's templates have if, range and variables)", word)
		c.out.WriteString(failAction("{% " + body + " %}"))
	}
	return next
}

// mutation converts l.append(x), l.extend(y) and d.update(z), which
// change a variable in place in Jinja: a template variable is reassigned
// (a play variable gets a template variable of its name first, which the
// rest of the template then reads). ok is false for anything else; an
// argument that cannot be converted is reported and gives "".
func (c *templateConv) mutation(body string) (stmt string, ok bool) {
	mm := mutateRE.FindStringSubmatch(body)
	if mm == nil {
		return "", false
	}
	arg, err := c.sc().Expr(mm[3])
	if err != nil {
		c.issue(0, "%s: %v", body, err)
		return failAction("{{ " + body + " }}"), true
	}
	v := "$" + mm[1]
	if c.sc().locals[mm[1]] != v {
		from, err := c.sc().Expr(mm[1])
		if err != nil {
			return "", false
		}
		c.sc().locals[mm[1]] = v
		v = v + " := " + wrapOperand(from) + " }}{{ " + v
	}
	name := "$" + mm[1]
	switch mm[2] {
	case "append":
		return v + " = append " + name + " " + wrapOperand(arg), true
	case "extend":
		return v + " = concat " + name + " " + wrapOperand(arg), true
	}
	return v + " = mergeOverwrite " + name + " " + wrapOperand(arg), true
}

// wrapOperand parenthesises a pipeline used as one operand.
func wrapOperand(e string) string {
	if strings.ContainsAny(e, " ") && !(strings.HasPrefix(e, "(") && trimParens(e) != e) {
		return "(" + e + ")"
	}
	return e
}

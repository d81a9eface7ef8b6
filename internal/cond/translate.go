package cond

import (
	"regexp"
	"strings"
)

// Ansible's condition forms written in the expression language: tests,
// Jinja filters, Python literals and methods, `not` precedence, defined paths.

var (
	operand    = `([A-Za-z_][A-Za-z0-9_.]*(?:\[[^\]]*\])*)`
	simplePath = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*$`)
	pyLiteral  = regexp.MustCompile(`\b(True|False|None)\b`)
	jinjaWrap  = regexp.MustCompile(`^\s*\{\{(.*)\}\}\s*$`)
	spaceRuns  = regexp.MustCompile(`\s+`)
)

// filterNames maps Jinja filters to the expression language's functions.
var filterNames = map[string]string{"length": "len", "count": "len", "bool": "to_bool", "int": "int", "float": "float",
	"string": "string", "lower": "lower", "upper": "upper", "trim": "trim", "first": "first", "last": "last",
	"list": "to_list", "unique": "uniq", "default": "default_", "d": "default_",
	"regex_replace": "regex_replace", "regex_search": "regex_search", "join": "join", "replace": "replace",
	"select": "jselect", "reject": "jreject", "selectattr": "jselectattr", "rejectattr": "jrejectattr", "map": "jmap"}

// translate rewrites Ansible's forms into the expression language: tests
// (`x is defined`, `r is changed`, `v is version("15", ">=")`), Jinja
// filters (`x | bool`, `l | length`, `x | default(1)`) as calls on the
// operand just before them (Jinja's precedence), Python literals (True,
// None), and a condition wrapped in {{ }}. Strings are left alone.
func translate(s string) string {
	if m := jinjaWrap.FindStringSubmatch(s); m != nil {
		s = m[1]
	}
	s = ShortNames(s)
	// Jinja reads line breaks as spaces: a condition broken across lines
	// (`x |\n map(...)`) is one line to the rewrites below
	s = outsideStrings(s, func(code string) string { return spaceRuns.ReplaceAllString(code, " ") })
	s = pyMethods(pyIndexAttrs(s))
	s = rewriteTests(s, func(m []string, args string) string {
		x, not, test := m[1], m[2] != "", m[3]
		var call string
		switch test {
		case "defined":
			call = definedCall(x)
		case "undefined":
			call, not = definedCall(x), !not
		case "version", "version_compare":
			args = versionArgs(args)
			call = "is_" + test + "(" + x + ", " + args + ")"
		case "in":
			call = "member(" + x + ", " + args + ")"
		case "contains":
			call = "member(" + args + ", " + x + ")"
		case "divisibleby":
			call = "((" + x + ") % (" + args + ") == 0)"
		case "even", "odd":
			call = "((" + x + ") % 2 == " + map[string]string{"even": "0", "odd": "1"}[test] + ")"
		case "eq", "equalto", "sameas", "ne", "lt", "le", "gt", "ge", "lessthan", "greaterthan":
			op := map[string]string{"eq": "==", "equalto": "==", "sameas": "==", "ne": "!=", "lt": "<", "lessthan": "<",
				"le": "<=", "gt": ">", "greaterthan": ">", "ge": ">="}[test]
			call = "((" + x + ") " + op + " (" + args + "))"
		case "search", "match", "regex":
			// Python's keyword flags become the pattern's inline flags
			// (multiline=True, ignorecase=True), as re reads them
			call = "is_" + test + "(" + x
			if a := strings.TrimSpace(regexFlagArgs(args)); a != "" {
				call += ", " + a
			}
			call += ")"
		default:
			call = "is_" + test + "(" + x
			if strings.TrimSpace(args) != "" {
				call += ", " + args
			}
			call += ")"
		}
		if not {
			return "not " + call
		}
		return call
	})
	s = pyConcat(rewriteFilters(s))
	s = pyEscapes(s)
	s = pyTuples(s)
	s = notPrecedence(s)
	return outsideStrings(s, func(code string) string {
		return pyLiteral.ReplaceAllStringFunc(code, func(l string) string {
			return map[string]string{"True": "true", "False": "false", "None": "nil"}[l]
		})
	})
}

// rewriteTests replaces each `x is [not] test[(args)]` by f's text. The
// operand is what a test binds in Jinja: a name or path, a call or a
// bracketed group, with the filters applied to it (`x | f(y) is version(z)`:
// filters bind tighter than tests); the arguments may hold parentheses and
// strings of their own (`v is version((w | regex_replace('v', ”)), '<')`).
func rewriteTests(s string, f func(m []string, args string) string) string {
	var b strings.Builder
	for {
		loc := nextTest(s)
		if loc == nil {
			b.WriteString(s)
			return b.String()
		}
		start := testOperandStart(s, loc[0])
		m := []string{s[start:loc[1]], strings.TrimSpace(s[start:loc[0]]), "", s[loc[4]:loc[5]]}
		if loc[2] >= 0 {
			m[2] = s[loc[2]:loc[3]]
		}
		end, args := loc[1], ""
		paren := end
		for paren < len(s) && s[paren] == ' ' {
			paren++ // Jinja allows `x is version ('2.9', '>=')`
		}
		if paren < len(s) && s[paren] == '(' {
			if close := matchingParen(s, paren); close > 0 {
				args, end = s[paren+1:close], close+1
			}
		} else if a := bareTestArg.FindStringSubmatch(s[end:]); a != nil && oneArgTests[m[3]] && !wordOperators[a[1]] {
			// Jinja's one-argument test without parentheses: x is in y
			args, end = a[1], end+len(a[0])
		}
		b.WriteString(s[:start])
		b.WriteString(f(m, args))
		s = s[end:]
	}
}

// bareTestArg is a test's argument written without parentheses: a name
// or path, a number, a string or a flat list.
var bareTestArg = regexp.MustCompile(`^\s+([A-Za-z_][A-Za-z0-9_.]*(?:\[[^\]]*\])*|-?[0-9]+(?:\.[0-9]+)?|"[^"]*"|'[^']*'|\[[^\]]*\])`)

// oneArgTests take an argument; wordOperators are not one.
var oneArgTests = map[string]bool{"in": true, "contains": true, "divisibleby": true, "eq": true, "equalto": true, "sameas": true,
	"ne": true, "lt": true, "le": true, "gt": true, "ge": true, "lessthan": true, "greaterthan": true, "version": true}
var wordOperators = map[string]bool{"and": true, "or": true, "not": true, "in": true, "is": true, "if": true, "else": true}

// isKeyword finds ` is [not] name` in a condition.
var isKeyword = regexp.MustCompile(`\s+is\s+(not\s+)?([a-z_]+)\b`)

// nextTest is the first ` is [not] test` outside quoted strings, as
// regexp submatch indexes; nil when there is none.
func nextTest(s string) []int {
	for _, loc := range isKeyword.FindAllStringSubmatchIndex(s, -1) {
		if !insideString(s, loc[0]) && loc[0] > 0 {
			return loc
		}
	}
	return nil
}

// insideString says whether position i of s is inside a quoted string.
func insideString(s string, i int) bool {
	var q byte
	for j := 0; j < i; j++ {
		switch c := s[j]; {
		case q != 0 && c == '\\':
			j++
		case q != 0 && c == q:
			q = 0
		case q == 0 && (c == '"' || c == '\''):
			q = c
		}
	}
	return q != 0
}

// testOperandStart is where the operand of a test ending at end begins:
// the operand before it and every filter applied to it.
func testOperandStart(s string, end int) int {
	start := operandStart(s, end)
	for {
		i := start - 1
		for i >= 0 && s[i] == ' ' {
			i--
		}
		if i < 1 || s[i] != '|' || s[i-1] == '|' {
			return start
		}
		start = operandStart(s, i)
	}
}

// pyEscapes keeps a backslash that Python keeps: in a Python string an
// escape it does not know ("\\." in a regular expression) is the
// backslash and the character, where the expression language refuses it.
func pyEscapes(s string) string {
	var b strings.Builder
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q == 0 && (c == '"' || c == '\''):
			q = c
		case q != 0 && c == q:
			q = 0
		case q != 0 && c == '\\' && i+1 < len(s):
			if !strings.ContainsRune(`\'"abfnrtvx01234567uU`, rune(s[i+1])) {
				b.WriteByte('\\') // doubled: the backslash itself
			}
			b.WriteByte(c)
			b.WriteByte(s[i+1])
			i++
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// pyTuples writes Python's tuples as lists: `rc not in (257, 0)`. A
// bracket group holding a comma outside any call is a tuple; a call's
// parentheses follow a name.
func pyTuples(s string) string {
	b := []byte(s)
	var stack []int // open parentheses that are groups, not calls
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '"', '\'':
			i = closingQuote(s, i)
		case '(':
			j := i - 1
			for j >= 0 && b[j] == ' ' {
				j--
			}
			call := j >= 0 && (isWordByte(b[j]) || b[j] == ')' || b[j] == ']') && !endsWithWordOperator(s[:j+1])
			if call {
				stack = append(stack, -1)
			} else {
				stack = append(stack, i)
			}
		case ')':
			if n := len(stack); n > 0 {
				open := stack[n-1]
				stack = stack[:n-1]
				if open >= 0 && hasTopLevelComma(s[open+1:i]) {
					b[open], b[i] = '[', ']'
				}
			}
		}
	}
	return string(b)
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// endsWithWordOperator says whether s ends with in, and, or, not (a
// group follows an operator there, not a call).
func endsWithWordOperator(s string) bool {
	for w := range wordOperators {
		if strings.HasSuffix(s, w) && (len(s) == len(w) || !isWordByte(s[len(s)-len(w)-1])) {
			return true
		}
	}
	return false
}

func hasTopLevelComma(s string) bool {
	return len(splitTopLevel(s)) > 1 || strings.HasSuffix(strings.TrimSpace(s), ",")
}

// notPrecedence gives Python's `not` its precedence: below comparisons
// and membership, above and/or. `not a == b` is `not (a == b)` there,
// where the expression language would read `(not a) == b`.
func notPrecedence(s string) string {
	var b strings.Builder
	i := 0
	for i < len(s) {
		j := nextUnaryNot(s, i)
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		b.WriteString(s[i : j+3])
		end := operandEnd(s, j+3)
		b.WriteString(" (" + strings.TrimSpace(notPrecedence(s[j+3:end])) + ")")
		i = end
		if i < len(s) && s[i] != ' ' && s[i] != ')' && s[i] != ']' && s[i] != ',' {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// nextUnaryNot is the index of the next `not` from i that is the unary
// operator (not `not in`, not inside a string or a word); -1 if none.
func nextUnaryNot(s string, i int) int {
	for k := i; k+3 <= len(s); k++ {
		switch c := s[k]; c {
		case '"', '\'':
			k = closingQuote(s, k)
			continue
		}
		if s[k:k+3] != "not" || k > 0 && isWordByte(s[k-1]) || k+3 < len(s) && isWordByte(s[k+3]) {
			continue
		}
		rest := strings.TrimLeft(s[k+3:], " ")
		if strings.HasPrefix(rest, "in ") || strings.HasPrefix(rest, "in(") {
			continue // a not in b
		}
		return k
	}
	return -1
}

// operandEnd is where the operand of a unary not starting at i ends: the
// next and/or, comma or closing bracket at its own depth, or the end.
func operandEnd(s string, i int) int {
	depth := 0
	for k := i; k < len(s); k++ {
		switch c := s[k]; c {
		case '"', '\'':
			k = closingQuote(s, k)
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			if depth == 0 {
				return k
			}
			depth--
		case ',':
			if depth == 0 {
				return k
			}
		case 'a', 'o':
			if depth == 0 && (k == 0 || !isWordByte(s[k-1])) {
				for _, w := range []string{"and", "or"} {
					if strings.HasPrefix(s[k:], w) && (k+len(w) == len(s) || !isWordByte(s[k+len(w)])) {
						return k
					}
				}
			}
		}
	}
	return len(s)
}

// versionArgs puts the version test's keyword arguments in their places
// (version, operator, strict, version_type), as Jinja binds them:
// `v is version(w, operator="!=")`. strict only makes Ansible refuse a
// malformed version and is dropped.
func versionArgs(args string) string {
	slots := []string{"", "", "", ""}
	names := map[string]int{"version": 0, "operator": 1, "strict": 2, "version_type": 3}
	pos := 0
	for _, a := range splitTopLevel(args) {
		a = strings.TrimSpace(a)
		if k, v, ok := strings.Cut(a, "="); ok && !strings.ContainsAny(k, "\"'(") && !strings.HasPrefix(v, "=") {
			if i, known := names[strings.TrimSpace(k)]; known {
				slots[i] = strings.TrimSpace(v)
				continue
			}
		}
		if pos < len(slots) {
			slots[pos] = a
		}
		pos++
	}
	slots[2] = "" // strict
	out := []string{slots[0]}
	if slots[1] != "" || slots[3] != "" {
		out = append(out, or(slots[1], `"=="`))
	}
	if slots[3] != "" {
		out = append(out, slots[3])
	}
	return strings.Join(out, ", ")
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// splitTopLevel splits s at the commas outside brackets and strings.
func splitTopLevel(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\'':
			i = closingQuote(s, i)
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		out = append(out, s[start:])
	}
	return out
}

// closingQuote is the index of the quote that closes the string opening
// at i (len(s) when it is not closed), skipping escaped characters.
func closingQuote(s string, i int) int {
	q := s[i]
	for i++; i < len(s) && s[i] != q; i++ {
		if s[i] == '\\' {
			i++
		}
	}
	return i
}

// matchingParen is the index of the parenthesis closing the one at open,
// skipping quoted strings; -1 when there is none.
func matchingParen(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\'':
			i = closingQuote(s, i)
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return -1
}

// outsideStrings applies f to the parts of s outside quoted strings.
func outsideStrings(s string, f func(string) string) string {
	var b strings.Builder
	start := 0
	for i := 0; i < len(s); i++ {
		q := s[i]
		if q != '"' && q != '\'' {
			continue
		}
		b.WriteString(f(s[start:i]))
		j := i + 1
		for j < len(s) && s[j] != q {
			if s[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(s) {
			j = len(s) - 1
		}
		b.WriteString(s[i : j+1])
		i, start = j, j+1
	}
	if start < len(s) {
		b.WriteString(f(s[start:]))
	}
	return b.String()
}

// definedCall writes the operand of `x is defined` as a call on its path:
// a.b['c-d'][0][k] is defined("a", "b", 'c-d', 0, k), the subscripts
// evaluated, the names not (an undefined one is the answer, not an error).
func definedCall(x string) string {
	segs, ok := pathSegments(x)
	if !ok {
		return `defined("` + strings.ReplaceAll(x, `"`, `\"`) + `")`
	}
	return "defined(" + strings.Join(segs, ", ") + ")"
}

// pathSegments splits name(.name|[expr])* into the root name and each
// step, names quoted; ok is false for anything else.
func pathSegments(x string) (segs []string, ok bool) {
	x = strings.TrimSpace(x)
	name := func(i int) int {
		j := i
		for j < len(x) && (x[j] == '_' || x[j] >= 'a' && x[j] <= 'z' || x[j] >= 'A' && x[j] <= 'Z' || j > i && x[j] >= '0' && x[j] <= '9') {
			j++
		}
		return j
	}
	end := name(0)
	if end == 0 {
		return nil, false
	}
	segs = append(segs, `"`+x[:end]+`"`)
	for i := end; i < len(x); {
		switch x[i] {
		case '.':
			j := name(i + 1)
			if j == i+1 {
				return nil, false
			}
			segs, i = append(segs, `"`+x[i+1:j]+`"`), j
		case '[':
			j := matching(x, i)
			if j < 0 || strings.TrimSpace(x[i+1:j]) == "" {
				return nil, false
			}
			segs, i = append(segs, "("+x[i+1:j]+")"), j+1
		default:
			return nil, false
		}
	}
	return segs, true
}

// regexFlags are the keyword arguments of Ansible's regex tests.
var regexFlags = regexp.MustCompile(`\s*,\s*(multiline|ignorecase)\s*=\s*(True|true|False|false)\s*`)

// regexFlagArgs turns `'pattern', multiline=True` into `'(?m)' + ('pattern')`.
func regexFlagArgs(args string) string {
	flags := ""
	rest := regexFlags.ReplaceAllStringFunc(args, func(m string) string {
		sm := regexFlags.FindStringSubmatch(m)
		if sm[2] == "True" || sm[2] == "true" {
			flags += map[string]string{"multiline": "m", "ignorecase": "i"}[sm[1]]
		}
		return ""
	})
	if flags == "" || strings.TrimSpace(rest) == "" {
		return rest
	}
	return "'(?" + flags + ")' + (" + rest + ")"
}

// collectionName is a filter or test named with its collection
// (`| ansible.builtin.to_json`, `is ansible.builtin.match`,
// `| ansible.utils.ipaddr('address')`, `| community.general.json_query`).
var collectionName = regexp.MustCompile(`(\|\s*|\bis\s+(?:not\s+)?)(?:ansible\.(?:builtin|legacy|utils|netcommon)|community\.general)\.([A-Za-z_][A-Za-z0-9_]*)`)

// ShortNames drops the collection from filter and test names outside
// strings: the ones runbook has are the same filters by their short names.
func ShortNames(expr string) string {
	if !strings.Contains(expr, ".") {
		return expr
	}
	return outsideStrings(expr, func(code string) string { return collectionName.ReplaceAllString(code, "$1$2") })
}

// Package convert rewrites Ansible playbooks, roles and Jinja2 templates
// into runbook's language (Go templates), and lists what it could not
// convert with its place. It is the bridge for users who bring Ansible
// material: runbook keeps Go templates as its own language.
package convert

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind int

const (
	tEOF tokKind = iota
	tName
	tNum
	tStr
	tOp
)

type token struct {
	kind tokKind
	val  string // for tStr: the unquoted value
	pos  int
}

// lex splits a Jinja expression into tokens.
func lex(s string) ([]token, error) {
	var out []token
	i := 0
	for i < len(s) {
		c := rune(s[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '_' || c < utf8.RuneSelf && unicode.IsLetter(c):
			// names are ASCII: a byte of a multi-byte character is no
			// letter of its own (Go templates refuse it where Jinja would)
			j := i
			for j < len(s) && (s[j] == '_' || s[j] < utf8.RuneSelf && (unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j])))) {
				j++
			}
			out = append(out, token{tName, s[i:j], i})
			i = j
		case c < utf8.RuneSelf && unicode.IsDigit(c):
			j := i
			for j < len(s) && (unicode.IsDigit(rune(s[j])) || s[j] == '.' && j+1 < len(s) && unicode.IsDigit(rune(s[j+1])) || s[j] == '_') {
				j++
			}
			num := strings.ReplaceAll(s[i:j], "_", "")
			if !strings.Contains(num, ".") {
				if _, err := strconv.ParseInt(num, 10, 64); err != nil {
					return nil, fmt.Errorf("number %s at %d is larger than runbook's templates hold (64 bits)", num, i)
				}
			}
			if strings.Count(num, ".") > 1 {
				return nil, fmt.Errorf("%s at %d is not a number (an address or version is written as a string: '%s')", num, i, num)
			}
			if len(num) > 1 && num[0] == '0' && !strings.Contains(num, ".") && strings.Trim(num, "0") != "" {
				// Jinja and Python 3 refuse 0755 (and Go would read it as octal)
				return nil, fmt.Errorf("number %s at %d: a leading zero is not allowed (write %s, or 0o%s for octal)", num, i, strings.TrimLeft(num, "0"), strings.TrimLeft(num, "0"))
			}
			out = append(out, token{tNum, num, i})
			i = j
		case c == '\'' || c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != byte(c); j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
					switch s[j] {
					case 'n':
						b.WriteByte('\n')
					case 't':
						b.WriteByte('\t')
					case '\\', '\'', '"':
						b.WriteByte(s[j])
					default:
						// an escape Python does not know (\d, \., \1 in a
						// pattern) keeps its backslash, as Ansible's strings do
						b.WriteByte('\\')
						b.WriteByte(s[j])
					}
					continue
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			out = append(out, token{tStr, b.String(), i})
			i = j + 1
		default:
			op := ""
			for _, o := range []string{"//", "**", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "~", "(", ")", "[", "]", "{", "}", ",", ":", ".", "|", "="} {
				if strings.HasPrefix(s[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				return nil, fmt.Errorf("unexpected %q at %d", string(c), i)
			}
			out = append(out, token{tOp, op, i})
			i += len(op)
		}
	}
	return append(out, token{tEOF, "", len(s)}), nil
}

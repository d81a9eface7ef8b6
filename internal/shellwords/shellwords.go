// Package shellwords splits a line into words the way a POSIX shell would:
// spaces separate, single and double quotes group, a backslash escapes the
// next character outside single quotes. Nothing is expanded.
package shellwords

import "errors"

// Split splits s into words.
func Split(s string) ([]string, error) {
	var out []string
	var cur []rune
	in, esc := false, false
	var quote rune
	for _, r := range s {
		switch {
		case esc:
			cur = append(cur, r)
			esc = false
		case r == '\\' && quote != '\'':
			esc, in = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur = append(cur, r)
			}
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if in {
				out = append(out, string(cur))
				cur = cur[:0]
				in = false
			}
		default:
			cur = append(cur, r)
			in = true
		}
	}
	if quote != 0 {
		return nil, errors.New("unterminated quote")
	}
	if in {
		out = append(out, string(cur))
	}
	return out, nil
}

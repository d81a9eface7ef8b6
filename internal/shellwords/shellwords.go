// Package shellwords splits a line into words exactly as Python's
// shlex.split does in POSIX mode, which is what Ansible uses for command
// lines, k=v arguments and INI inventory lines: spaces separate, single
// quotes keep everything, double quotes keep everything but let a
// backslash escape only `"` and `\`, and outside quotes a backslash
// escapes any character. Nothing is expanded. An unterminated quote or a
// trailing backslash is an error, as in shlex.
package shellwords

import "errors"

// ErrUnterminatedQuote and ErrTrailingBackslash are shlex's two errors.
var (
	ErrUnterminatedQuote = errors.New("unterminated quote (no closing quotation)")
	ErrTrailingBackslash = errors.New("a trailing backslash escapes nothing")
)

// Split splits s into words (shlex.split(s)).
func Split(s string) ([]string, error) { return split(s, false) }

// SplitComments is Split where an unquoted # starts a comment that runs to
// the end of the line (shlex.split(s, comments=True)), as in INI lines.
func SplitComments(s string) ([]string, error) { return split(s, true) }

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' }

func split(s string, comments bool) ([]string, error) {
	const (
		between = iota // whitespace state
		word
		single
		double
		escape
	)
	var out []string
	rs := []rune(s)
	state, after := between, word // after: the state an escape returns to
	var tok []rune
	quoted := false
	emit := func() {
		if len(tok) > 0 || quoted {
			out = append(out, string(tok))
		}
		tok, quoted = tok[:0:0], false
	}
	skipComment := func(i int) int {
		for i < len(rs) && rs[i] != '\n' {
			i++
		}
		return i
	}
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch state {
		case between, word:
			switch {
			case isSpace(r):
				if state == word {
					emit()
				}
				state = between
			case comments && r == '#':
				i = skipComment(i)
				if state == word {
					emit()
				}
				state = between
			case r == '\\':
				state, after = escape, word
			case r == '\'':
				state, quoted = single, true
			case r == '"':
				state, quoted = double, true
			default:
				tok = append(tok, r)
				state = word
			}
		case single:
			if r == '\'' {
				state = word
			} else {
				tok = append(tok, r)
			}
		case double:
			switch r {
			case '"':
				state = word
			case '\\':
				state, after = escape, double
			default:
				tok = append(tok, r)
			}
		case escape:
			if after == double && r != '"' && r != '\\' {
				tok = append(tok, '\\')
			}
			tok = append(tok, r)
			state = after
		}
	}
	switch state {
	case single, double:
		return nil, ErrUnterminatedQuote
	case escape:
		if after == double {
			return nil, ErrUnterminatedQuote
		}
		return nil, ErrTrailingBackslash
	case word:
		emit()
	}
	return out, nil
}

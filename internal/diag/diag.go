// Package diag reports bad input: one error type that names file:line:column,
// shows the offending line with a caret, and suggests a fix where one fits.
package diag

import (
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Source is a file's name (an embedded playbook's embedded name) and its text,
// kept so errors can quote the offending line.
type Source struct {
	Name string
	Text []byte
	// Vaulted: Text is a vaulted file's plaintext, never shown in an error.
	Vaulted bool
}

// Error is bad input at a position. It maps to exit code 1.
type Error struct {
	File    string
	Line    int
	Column  int
	Msg     string
	Snippet string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		fmt.Fprintf(&b, "%s:%d:%d: ", e.File, e.Line, e.Column)
	}
	b.WriteString(e.Msg)
	if e.Snippet != "" {
		b.WriteString("\n")
		b.WriteString(e.Snippet)
	}
	return b.String()
}

// Code is the process exit code for bad input.
func (e *Error) Code() int { return 1 }

// At builds an Error at a position in src.
func At(src *Source, line, col int, format string, args ...any) *Error {
	e := &Error{Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
	if src != nil {
		e.File = src.Name
		if !src.Vaulted {
			e.Snippet = snippet(src.Text, line, col)
		}
	}
	return e
}

// Node builds an Error at a YAML node's position.
func Node(src *Source, n *yaml.Node, format string, args ...any) *Error {
	if n == nil {
		return At(src, 0, 0, format, args...)
	}
	return At(src, n.Line, n.Column, format, args...)
}

// FromYAML turns a yaml.v3 parse error ("yaml: line N: msg") into a positioned Error.
func FromYAML(src *Source, err error) error {
	msg := err.Error()
	var line int
	rest := strings.TrimPrefix(msg, "yaml: ")
	if n, _ := fmt.Sscanf(rest, "line %d:", &line); n == 1 {
		rest = strings.TrimSpace(rest[strings.Index(rest, ":")+1:])
		if l, c, ok := badIndent(string(src.Text)); ok && l >= line {
			return At(src, l, c, "invalid YAML: this line's indentation matches no enclosing block (the parser said: %s at line %d)", rest, line)
		}
		return At(src, line, 1, "invalid YAML: %s", rest)
	}
	return At(src, 1, 1, "invalid YAML: %s", rest)
}

func snippet(text []byte, line, col int) string {
	if line <= 0 || len(text) == 0 {
		return ""
	}
	lines := strings.Split(string(text), "\n")
	if line > len(lines) {
		return ""
	}
	l := strings.ReplaceAll(lines[line-1], "\t", " ")
	if col < 1 {
		col = 1
	}
	prefix := fmt.Sprintf("%5d | ", line)
	return prefix + l + "\n" + strings.Repeat(" ", len(prefix)+col-1) + "^"
}

// Suggest returns the candidate closest to word, or "" when none is close.
func Suggest(word string, candidates []string) string {
	best, bestDist := "", 1<<30
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	for _, c := range sorted {
		d := levenshtein(strings.ToLower(word), strings.ToLower(c))
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := len(word)/3 + 1
	if bestDist <= limit {
		return best
	}
	return ""
}

// DidYouMean formats a suggestion suffix like " (did you mean \"copy\"?)".
func DidYouMean(word string, candidates []string) string {
	if s := Suggest(word, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

package diag

import (
	"regexp"
	"strings"
)

// blockScalar ends a line whose value continues as an indented block (| or >).
var blockScalar = regexp.MustCompile(`(:|^-|\s-)\s+[|>][-+0-9]*\s*(#.*)?$`)

// badIndent finds the first line whose indentation fits no enclosing block:
// indented deeper than a line that opens nothing, or dedented to a column
// no open block started at. yaml.v3 reports such mistakes where the broken
// block began ("did not find expected key" at the block's first line); this
// finds the line that is really wrong. ok is false when the text holds
// constructs the scan does not follow (flow collections or quotes spanning
// lines), so the caller keeps the parser's position.
func badIndent(text string) (line, col int, ok bool) {
	var stack []int
	opens := true // the start of the document opens the root block
	scalarAbove := -1
	for i, raw := range strings.Split(text, "\n") {
		content := strings.TrimLeft(raw, " ")
		indent := len(raw) - len(content)
		trimmed := strings.TrimSpace(content)
		if scalarAbove >= 0 {
			if trimmed == "" || indent > scalarAbove {
				continue
			}
			scalarAbove = -1
		}
		if trimmed == "" || strings.HasPrefix(trimmed, "#") || trimmed == "---" || trimmed == "..." {
			continue
		}
		if strings.HasPrefix(content, "\t") || unbalanced(trimmed) {
			return 0, 0, false
		}
		top := -1
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch {
		case indent > top && (opens || top < 0):
			stack = append(stack, indent)
		case indent > top:
			return i + 1, indent + 1, true
		case indent < top:
			for len(stack) > 0 && stack[len(stack)-1] > indent {
				stack = stack[:len(stack)-1]
			}
			if len(stack) == 0 || stack[len(stack)-1] != indent {
				return i + 1, indent + 1, true
			}
		}
		// a sequence item's own content ("- key: v") is a block at the
		// column after the dash
		rest, item := trimmed, 0
		for strings.HasPrefix(rest, "- ") || rest == "-" {
			after := strings.TrimLeft(strings.TrimPrefix(rest, "-"), " ")
			item += len(rest) - len(after)
			rest = after
			if rest != "" {
				stack = append(stack, indent+item)
			}
		}
		opens = rest == "" || (strings.HasSuffix(stripComment(rest), ":") && !strings.HasPrefix(rest, "{"))
		if blockScalar.MatchString(trimmed) {
			scalarAbove = indent
			opens = false
		}
	}
	return 0, 0, false
}

// unbalanced reports a line whose quotes or brackets continue on the next
// line: the scan cannot follow it.
func unbalanced(s string) bool {
	s = stripComment(s)
	depth := 0
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '[' || r == '{':
			depth++
		case r == ']' || r == '}':
			depth--
		}
	}
	return quote != 0 || depth != 0
}

func stripComment(s string) string {
	if i := strings.Index(s, " #"); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}

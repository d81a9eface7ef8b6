package templates

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/runbook-lab/runbook/internal/listops"
	"github.com/runbook-lab/runbook/internal/pyvalue"
)

// Jinja's format, batch and zip filters, as convert writes them: the
// filtered value first here, since each is emitted with its own order.
func seqFuncs(m template.FuncMap) {
	m["pyFormat"] = pyFormat
	m["batch"] = batch
	m["zipLists"] = zipLists
	m["regexFindall"] = regexFindall
	m["mapExtract"] = mapExtract
	// lookup('sequence', 'start=1 end=3'): the words of every term, joined
	m["lookupSequence"] = func(terms ...string) ([]any, error) {
		out := []any{}
		for _, t := range terms {
			items, err := Sequence(t)
			if err != nil {
				return nil, fmt.Errorf("lookup('sequence'): %v", err)
			}
			out = append(out, items...)
		}
		return out, nil
	}
}

// pyFormat is Python's % formatting, which Jinja's format filter is:
// %s %r %d %i %f %e %g %x %o %c %% with flags, width and precision.
func pyFormat(format string, args ...any) (string, error) {
	var b strings.Builder
	next := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(format) && strings.IndexByte("#0- +.0123456789", format[j]) >= 0 {
			j++
		}
		if j >= len(format) {
			return "", fmt.Errorf("format: incomplete format %q", format[i:])
		}
		spec, verb := format[i+1:j], format[j]
		i = j
		if verb == '%' {
			b.WriteByte('%')
			continue
		}
		if next >= len(args) {
			return "", fmt.Errorf("format: not enough arguments for format string %q", format)
		}
		a := args[next]
		next++
		switch verb {
		case 's':
			fmt.Fprintf(&b, "%"+spec+"s", pyvalue.Str(a))
		case 'r':
			fmt.Fprintf(&b, "%"+spec+"s", pyvalue.Repr(a))
		case 'd', 'i', 'x', 'X', 'o':
			n, ok := wholeNumber(a)
			if !ok {
				f, isNum := number(a)
				if !isNum {
					return "", fmt.Errorf("format: %%%c needs a number, got %s", verb, pyvalue.Repr(a))
				}
				n = int64(f)
			}
			v := map[byte]byte{'i': 'd'}[verb]
			if v == 0 {
				v = verb
			}
			fmt.Fprintf(&b, "%"+spec+string(v), n)
		case 'f', 'F', 'e', 'E', 'g', 'G':
			f, ok := number(a)
			if !ok {
				return "", fmt.Errorf("format: %%%c needs a number, got %s", verb, pyvalue.Repr(a))
			}
			if !strings.Contains(spec, ".") && (verb == 'f' || verb == 'F' || verb == 'e' || verb == 'E') {
				spec += ".6" // Python's default precision
			}
			fmt.Fprintf(&b, "%"+spec+string(verb), f)
		case 'c':
			if n, ok := wholeNumber(a); ok {
				b.WriteRune(rune(n))
			} else {
				b.WriteString(pyvalue.Str(a))
			}
		default:
			return "", fmt.Errorf("format: unsupported format character %q", verb)
		}
	}
	if next < len(args) {
		return "", fmt.Errorf("format: not all arguments converted during string formatting")
	}
	return b.String(), nil
}

// batch cuts a list into lists of size n, the last one filled with fill
// when it is given (Jinja's batch(n, fill_with)).
func batch(v any, n any, fill ...any) ([]any, error) {
	size, ok := wholeNumber(n)
	if !ok || size < 1 {
		return nil, fmt.Errorf("batch: the size must be a positive whole number, got %v", n)
	}
	items := listOf(v)
	out := []any{}
	for i := 0; i < len(items); i += int(size) {
		end := min(i+int(size), len(items))
		part := append([]any{}, items[i:end]...)
		for len(fill) > 0 && len(part) < int(size) {
			part = append(part, fill[0])
		}
		out = append(out, part)
	}
	return out, nil
}

// zipLists pairs the lists element by element, as long as the shortest.
func zipLists(first any, others ...any) []any {
	lists := [][]any{listOf(first)}
	for _, o := range others {
		lists = append(lists, listOf(o))
	}
	n := len(lists[0])
	for _, l := range lists {
		n = min(n, len(l))
	}
	out := make([]any, n)
	for i := range out {
		row := make([]any, len(lists))
		for j, l := range lists {
			row[j] = l[i]
		}
		out[i] = row
	}
	return out
}

// listOf is a value's items: a list's elements, a string's characters, a
// mapping's keys in order; nothing for a value that is not iterable.
func listOf(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case string:
		out := make([]any, 0, len(x))
		for _, r := range x {
			out = append(out, string(r))
		}
		return out
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = k
		}
		return out
	}
	l, _ := listops.AsList(v) // other lists; nil for what is not iterable
	return l
}

var seqShort = regexp.MustCompile(`^(?:(\d+)-)?(\d+)(?:/(\d+))?(?::(.+))?$`)

// maxSequence bounds a sequence's length.
const maxSequence = 100000

// Sequence is Ansible's sequence lookup (and with_sequence): start, end
// or count, stride, format, as key=value words or the short form
// [start-]end[/stride][:format]; the items are formatted strings.
func Sequence(spec string) ([]any, error) {
	spec = strings.TrimSpace(spec)
	start, end, stride, format := 1, 0, 1, "%d"
	if m := seqShort.FindStringSubmatch(spec); m != nil {
		if m[1] != "" {
			start, _ = strconv.Atoi(m[1])
		}
		end, _ = strconv.Atoi(m[2])
		if m[3] != "" {
			stride, _ = strconv.Atoi(m[3])
		}
		if m[4] != "" {
			format = m[4]
		}
	} else {
		count := -1
		for _, w := range strings.Fields(spec) {
			k, v, ok := strings.Cut(w, "=")
			if !ok {
				return nil, fmt.Errorf("expected key=value, got %q", w)
			}
			n, err := strconv.ParseInt(strings.Trim(v, `"'`), 0, 64)
			if k != "format" && err != nil {
				return nil, fmt.Errorf("%s=%s: not a whole number", k, v)
			}
			switch k {
			case "start":
				start = int(n)
			case "end":
				end = int(n)
			case "count":
				count = int(n)
			case "stride":
				stride = int(n)
			case "format":
				format = strings.Trim(v, `"'`)
			default:
				return nil, fmt.Errorf("unknown %s (start, end, count, stride, format)", k)
			}
		}
		if count >= 0 {
			end = start + (count-1)*stride
		}
	}
	if stride == 0 || (end-start)/stride > maxSequence {
		return nil, fmt.Errorf("%q is too long or has stride 0", spec)
	}
	out := []any{}
	for i := start; (stride > 0 && i <= end) || (stride < 0 && i >= end); i += stride {
		s, err := pyFormat(format, i)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// regexFindall is Python's re.findall, which Ansible's regex_findall is:
// every match, or with groups in the pattern the group (one) or the
// groups (several, as a list) of every match.
func regexFindall(pattern string, v any) ([]any, error) {
	rx, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("regex_findall: %v", err)
	}
	out := []any{}
	for _, m := range rx.FindAllStringSubmatch(pyvalue.Str(v), -1) {
		switch len(m) {
		case 1:
			out = append(out, m[0])
		case 2:
			out = append(out, m[1])
		default:
			groups := make([]any, len(m)-1)
			for i, g := range m[1:] {
				groups[i] = g
			}
			out = append(out, groups)
		}
	}
	return out, nil
}

// mapExtract is map('extract', container[, key]): each item looked up in
// the container (a mapping by key, a list by index), then by key.
func mapExtract(container any, rest ...any) ([]any, error) {
	if len(rest) == 0 {
		return nil, fmt.Errorf("map('extract'): no list to map")
	}
	items, more := listOf(rest[len(rest)-1]), rest[:len(rest)-1]
	get := func(c, k any) (any, error) {
		switch x := c.(type) {
		case map[string]any:
			v, ok := x[fmt.Sprint(k)]
			if !ok {
				return nil, fmt.Errorf("extract: no key %v", k)
			}
			return v, nil
		case []any:
			i, ok := wholeNumber(k)
			if !ok || i < 0 || int(i) >= len(x) {
				return nil, fmt.Errorf("extract: no index %v", k)
			}
			return x[i], nil
		}
		return nil, fmt.Errorf("extract: %v is not a mapping or a list", pyvalue.Repr(c))
	}
	out := make([]any, 0, len(items))
	for _, it := range items {
		v, err := get(container, it)
		for _, k := range more {
			if err == nil {
				v, err = get(v, k)
			}
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

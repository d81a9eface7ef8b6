// Package templates renders runbook's strings and config files: text/template
// with sprig and a few functions of runbook's own, missing keys are errors.
// Config templates the lab needs are embedded under files/.
package templates

import (
	"crypto/md5"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"time"

	"github.com/Masterminds/sprig/v3"

	"github.com/runbook-lab/runbook/hostexec"
)

//go:embed files
var Files embed.FS

var funcs = func() template.FuncMap {
	m := sprig.TxtFuncMap()
	// shq quotes for a POSIX shell.
	m["shq"] = func(s any) string { return hostexec.QuoteAlways(fmt.Sprint(s)) }
	// pgpass escapes a field of a .pgpass / .pcppass line.
	m["pgpass"] = func(s any) string {
		return strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(fmt.Sprint(s))
	}
	// pgq quotes a PostgreSQL configuration string value.
	m["pgq"] = func(s any) string { return "'" + strings.ReplaceAll(fmt.Sprint(s), "'", "''") + "'" }
	// md5 is for pgpool's pcp.conf, which stores md5(password).
	m["md5"] = func(s any) string {
		sum := md5.Sum([]byte(fmt.Sprint(s)))
		return hex.EncodeToString(sum[:])
	}
	m["lookupFile"] = lookupFile
	m["lookupFileConfined"] = lookupFileConfined
	m["firstFound"] = firstFound
	m["fileGlob"] = fileGlob
	m["lookupURL"] = lookupURL
	m["fileGlobConfined"] = fileGlobConfined
	// a converted {% macro %}'s call; Parse binds it to the template that
	// defines the macro
	m["macro"] = func(name string, params map[string]any, vars any) (string, error) {
		return "", fmt.Errorf("macro %s: called outside the template that defines it", name)
	}
	m["lookupURLConfined"] = lookupURLConfined
	for _, name := range removedFuncs {
		delete(m, name)
	}
	jinjaFuncs(m)
	ipFuncs(m)
	seqFuncs(m)
	pythonFuncs(m)
	bound(m)
	return m
}()

// FuncMap returns the functions templates may call.
func FuncMap() template.FuncMap { return funcs }

// Parse parses a template with runbook's functions and missingkey=error.
func Parse(name, text string) (*template.Template, error) {
	var t *template.Template
	t, err := template.New(name).Funcs(funcs).Funcs(template.FuncMap{"macro": macroCall(&t)}).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	if err := confine(t); err != nil {
		return nil, err
	}
	return t, checkRanges(t)
}

// maxMacroDepth bounds macros calling macros (a macro calling itself would
// otherwise recurse until the stack overflows).
const maxMacroDepth = 50

// macroCall is the "macro" function of one parsed template: a Jinja macro
// converted to a defined template, called with its parameters over the
// template's variables ($), its output a string that filters can take.
func macroCall(t **template.Template) func(name string, params map[string]any, vars any) (string, error) {
	return func(name string, params map[string]any, vars any) (string, error) {
		scope := map[string]any{}
		if m, ok := vars.(map[string]any); ok {
			for k, v := range m {
				scope[k] = v
			}
		}
		depth, _ := scope["__macro_depth"].(int)
		if depth >= maxMacroDepth {
			return "", fmt.Errorf("macro %s: macros nested deeper than %d (one calls itself?)", strings.TrimPrefix(name, "macro_"), maxMacroDepth)
		}
		for k, v := range params {
			scope[k] = v
		}
		scope["__macro_depth"] = depth + 1
		def := (*t).Lookup(name)
		if def == nil {
			return "", fmt.Errorf("no macro %s", strings.TrimPrefix(name, "macro_"))
		}
		var b strings.Builder
		if err := def.Execute(&b, scope); err != nil {
			return "", err
		}
		return b.String(), nil
	}
}

// Has reports whether s contains template actions.
func Has(s string) bool { return strings.Contains(s, "{{") }

// Render renders text against vars.
func Render(name, text string, vars map[string]any) (string, error) {
	if !Has(text) {
		return text, nil
	}
	t, err := parseCached(name, text)
	if err != nil {
		return "", err
	}
	return Execute(t, vars)
}

// parsed caches parsed templates by name and text: a task's arguments are
// rendered once per host, and parsing them again each time was a large part
// of a big run's CPU. Bounded, since rendered values may hold templates too.
var parsed = struct {
	sync.RWMutex
	m map[[2]string]*template.Template
}{m: map[[2]string]*template.Template{}}

const maxParsed = 20000

func parseCached(name, text string) (*template.Template, error) {
	key := [2]string{name, text}
	parsed.RLock()
	t, ok := parsed.m[key]
	parsed.RUnlock()
	if ok {
		return t, nil
	}
	t, err := Parse(name, text)
	if err != nil {
		return nil, err
	}
	parsed.Lock()
	if len(parsed.m) >= maxParsed {
		parsed.m = map[[2]string]*template.Template{}
	}
	parsed.m[key] = t
	parsed.Unlock()
	return t, nil
}

// MaxExecTime bounds one template's execution: nested ranges that print
// nothing ({{ range until 1000000 }}{{ range until 1000000 }}...) would
// otherwise spin for days. A config file renders in milliseconds.
var MaxExecTime = 60 * time.Second

var errTooLong = errors.New("template still running after its time bound; nested loops too large?")

// Execute runs a parsed template; a missing variable is an error naming it.
// A template that runs past MaxExecTime is an error; text/template cannot
// be stopped, so its goroutine is left to finish (or the process to end).
func Execute(t *template.Template, vars map[string]any) (string, error) {
	type result struct {
		s   string
		err error
	}
	done := make(chan result, 1)
	go func() {
		var b limitedBuffer
		if err := t.Execute(&b, vars); err != nil {
			if IsTooLarge(err) {
				done <- result{"", errTooLarge}
				return
			}
			done <- result{"", cleanExecError(err)}
			return
		}
		done <- result{string(b.b), nil}
	}()
	timer := time.NewTimer(MaxExecTime)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.s, r.err
	case <-timer.C:
		return "", errTooLong
	}
}

var mapKeyRE = regexp.MustCompile(`map has no entry for key "([^"]+)"`)

// cleanExecError says "undefined variable X" instead of text/template's wording.
func cleanExecError(err error) error {
	if m := mapKeyRE.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("undefined variable %q", m[1])
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i > 0 && strings.HasPrefix(s, "template:") {
		s = s[i+2:]
	}
	return fmt.Errorf("%s", s)
}

var wholeRE = regexp.MustCompile(`^\s*\{\{-?\s*((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*-?\}\}\s*$`)

// Native returns the variable's own value (a list, a map, a number) when
// text is exactly one variable reference like "{{ .hosts }}", so that lists
// and maps pass through templates unflattened.
func Native(text string, vars map[string]any) (any, bool, error) {
	m := wholeRE.FindStringSubmatch(text)
	if m == nil {
		// one action of another kind (a function's value, as convert
		// writes for Jinja filters): its value too, unflattened
		return NativeValue(text, vars)
	}
	var cur any = vars
	for _, part := range strings.Split(m[1][1:], ".") {
		mp, ok := cur.(map[string]any)
		if !ok {
			return nil, false, nil
		}
		v, ok := mp[part]
		if !ok {
			return nil, true, fmt.Errorf("undefined variable %q", part)
		}
		cur = v
	}
	return cur, true, nil
}

// lookupFile is Ansible's lookup('file', path): a file on this machine (the
// controller), its trailing newlines cut. A relative path is looked for in
// each dir's files/ folder, then in the dir itself (the role's, then the
// playbook's); ~ is the user's home. Files over 32 MiB are refused.
func lookupFile(path string, dirs ...string) (string, error) {
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		path = filepath.Join(home, rest)
	}
	candidates := []string{path}
	if !filepath.IsAbs(path) {
		candidates = nil
		for _, d := range dirs {
			if d != "" {
				candidates = append(candidates, filepath.Join(d, "files", path), filepath.Join(d, path))
			}
		}
		candidates = append(candidates, path)
	}
	for _, c := range candidates {
		st, err := os.Stat(c)
		if err != nil || st.IsDir() {
			continue
		}
		b, err := readRegular(c, maxLookup)
		if err != nil {
			return "", fmt.Errorf("lookup file %s: %w", c, err)
		}
		return strings.TrimRight(string(b), "\n"), nil
	}
	return "", fmt.Errorf("lookup file: %s not found (looked in %s)", path, strings.Join(candidates, ", "))
}

// maxLookup bounds a file a template reads.
const maxLookup = 32 << 20

// readRegular reads a regular file of at most limit bytes. It opens without
// blocking and checks what it opened, so a FIFO or device swapped in after
// a look cannot hang the run or fill its memory.
func readRegular(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file (a device or FIFO would never end)")
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("more than %d MiB", limit>>20)
	}
	return b, nil
}

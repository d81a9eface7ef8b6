package builtin

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/runbook-lab/runbook/modules"
)

// Replace replaces every match of a regular expression in a file
// (Ansible's replace; the expression is RE2, Python's without lookaround).
type Replace struct {
	Path              string `yaml:"path" aliases:"dest,destfile,name" doc:"the file"`
	Regexp            string `yaml:"regexp" doc:"what to replace (multi-line mode: ^ and $ match at each line)"`
	With              string `yaml:"replace" doc:"the replacement; \\1 and \\g<name> are groups"`
	After             string `yaml:"after" doc:"only replace after the first match of this expression"`
	Before            string `yaml:"before" doc:"only replace before the first match of this expression"`
	modules.FileAttrs `yaml:",inline"`
}

func init() {
	modules.Register(modules.Info{ID: "replace", Summary: "Replace every match of a regular expression in a text file.",
		Example: "replace:\n  path: /etc/ssh/sshd_config\n  regexp: '^#?PasswordAuthentication .*$'\n  replace: PasswordAuthentication no",
		New:     func() modules.Module { return &Replace{} }})
}

// Validate checks the arguments.
func (r *Replace) Validate() error {
	if r.Path == "" || r.Regexp == "" {
		return errors.New("replace: path and regexp are required")
	}
	for _, re := range []string{r.Regexp, r.After, r.Before} {
		if _, err := regexp.Compile(re); err != nil {
			return fmt.Errorf("replace: %v (RE2 syntax: no lookahead or lookbehind)", err)
		}
	}
	return nil
}

// Run edits the file.
func (r *Replace) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	st, err := modules.Stat(ctx, env.Host, r.Path, true)
	if err != nil {
		return nil, err
	}
	if !st.Exists {
		return modules.Failf("%s does not exist", r.Path), nil
	}
	text, n := r.Edit(string(st.Content))
	res, err := modules.PutFile(ctx, env, r.Spec(r.Path, []byte(text)))
	if res != nil && n > 0 {
		res.Msg = fmt.Sprintf("%d replacements made", n)
	}
	return res, err
}

// Edit replaces every match in the section between after and before (the
// whole text without them) and counts the replacements.
func (r *Replace) Edit(text string) (string, int) {
	lo, hi := 0, len(text)
	var section *regexp.Regexp
	switch {
	case r.After != "" && r.Before != "":
		section = regexp.MustCompile("(?s)" + r.After + "(?P<subsection>.*?)" + r.Before)
	case r.After != "":
		section = regexp.MustCompile("(?s)" + r.After + "(?P<subsection>.*)")
	case r.Before != "":
		section = regexp.MustCompile("(?s)(?P<subsection>.*)" + r.Before)
	}
	if section != nil {
		if m := section.FindStringSubmatchIndex(text); m != nil {
			i := section.SubexpIndex("subsection")
			lo, hi = m[2*i], m[2*i+1]
		}
	}
	rx := regexp.MustCompile("(?m)" + r.Regexp)
	n := len(rx.FindAllStringIndex(text[lo:hi], -1))
	out := rx.ReplaceAllString(text[lo:hi], pythonBackrefs(r.With))
	return text[:lo] + out + text[hi:], n
}

var _ modules.Validator = (*Replace)(nil)

package builtin

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// BlockInFile keeps a block of lines between two marker lines in a file
// (Ansible's blockinfile).
type BlockInFile struct {
	Path              string `yaml:"path" aliases:"dest,destfile,name" doc:"the file"`
	Block             string `yaml:"block" aliases:"content" doc:"the lines between the markers (empty: remove the block)"`
	Marker            string `yaml:"marker" doc:"marker line; {mark} becomes marker_begin or marker_end" default:"# {mark} ANSIBLE MANAGED BLOCK"`
	MarkerBegin       string `yaml:"marker_begin" doc:"{mark} of the first marker" default:"BEGIN"`
	MarkerEnd         string `yaml:"marker_end" doc:"{mark} of the last marker" default:"END"`
	State             string `yaml:"state" doc:"present or absent" default:"present"`
	InsertAfter       string `yaml:"insertafter" doc:"a new block goes after the last line matching this regexp, or EOF"`
	InsertBefore      string `yaml:"insertbefore" doc:"a new block goes before the last line matching this regexp, or BOF"`
	Create            bool   `yaml:"create" doc:"create the file when missing"`
	modules.FileAttrs `yaml:",inline"`
}

func init() {
	modules.Register(modules.Info{ID: "blockinfile", Summary: "Keep a block of lines between marker lines in a text file (insert, update or remove it).",
		Example: "blockinfile:\n  path: /etc/hosts\n  block: |\n    192.168.100.10 postgres1\n    192.168.100.11 postgres2",
		New:     func() modules.Module { return &BlockInFile{} }})
}

// Validate checks the arguments.
func (b *BlockInFile) Validate() error {
	if b.Path == "" {
		return errors.New("blockinfile: path is required")
	}
	if b.State != "present" && b.State != "absent" {
		return fmt.Errorf("blockinfile: state must be present or absent, got %q", b.State)
	}
	if b.InsertAfter != "" && b.InsertBefore != "" {
		return errors.New("blockinfile: give insertafter or insertbefore, not both")
	}
	for _, re := range []string{b.InsertAfter, b.InsertBefore} {
		if re != "" && re != "EOF" && re != "BOF" {
			if _, err := regexp.Compile(re); err != nil {
				return fmt.Errorf("blockinfile: %v", err)
			}
		}
	}
	return nil
}

// Run edits the file.
func (b *BlockInFile) Run(ctx context.Context, env *modules.Env) (*modules.Result, error) {
	st, err := modules.Stat(ctx, env.Host, b.Path, true)
	if err != nil {
		return nil, err
	}
	if !st.Exists && !b.Create {
		if b.State == "absent" {
			return &modules.Result{Msg: "file not present"}, nil
		}
		return modules.Failf("%s does not exist (set create: true)", b.Path), nil
	}
	text := b.Edit(string(st.Content))
	return modules.PutFile(ctx, env, b.Spec(b.Path, []byte(text)))
}

// Edit is blockinfile's logic, as Ansible's: an existing block (both
// markers) is replaced where it is; a new one goes after the last line
// matching insertafter (default: the end) or before insertbefore's.
func (b *BlockInFile) Edit(text string) string {
	begin := strings.ReplaceAll(b.Marker, "{mark}", b.MarkerBegin)
	end := strings.ReplaceAll(b.Marker, "{mark}", b.MarkerEnd)
	lines := strings.SplitAfter(text, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	n0, n1 := -1, -1
	for i, l := range lines {
		switch strings.TrimRight(l, "\r\n") {
		case begin:
			n0 = i
		case end:
			n1 = i
		}
	}
	var block []string
	if b.State == "present" && b.Block != "" {
		block = append(block, begin+"\n")
		for _, l := range strings.SplitAfter(strings.TrimSuffix(b.Block, "\n")+"\n", "\n") {
			if l != "" {
				block = append(block, l)
			}
		}
		block = append(block, end+"\n")
	}
	at := len(lines)
	switch {
	case n0 < 0 || n1 < 0:
		re := b.InsertAfter
		if b.InsertBefore != "" {
			re = b.InsertBefore
		}
		switch re {
		case "", "EOF":
		case "BOF":
			at = 0
		default:
			rx := regexp.MustCompile(re)
			found := -1
			for i, l := range lines {
				if rx.MatchString(l) {
					found = i
				}
			}
			if found >= 0 {
				at = found
				if b.InsertAfter != "" {
					at++
				}
			}
		}
	case n0 < n1:
		lines = append(lines[:n0], lines[n1+1:]...)
		at = n0
	default:
		lines = append(lines[:n1], lines[n0+1:]...)
		at = n1
	}
	if at > 0 && len(block) > 0 && !strings.HasSuffix(lines[at-1], "\n") {
		lines[at-1] += "\n"
	}
	out := append(append(append([]string{}, lines[:at]...), block...), lines[at:]...)
	return strings.Join(out, "")
}

var _ modules.Validator = (*BlockInFile)(nil)

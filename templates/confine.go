package templates

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"text/template/parse"
)

// The controller's reach from a template is confined: a template may read
// the environment variable or the file its author names literally, and
// files under the playbook's and roles' folders by a computed name, never
// an arbitrary path or variable chosen by a value (which may have come from
// a host). DNS and the whole environment (sprig's getHostByName, expandenv)
// are not template functions at all.

// removedFuncs are sprig's functions that reach outside the template.
var removedFuncs = []string{"getHostByName", "expandenv"}

// confine checks a parsed template's calls: env takes a literal name;
// lookupFile and fileGlob with a computed path become their confined
// forms; lookupURL with a computed URL may reach only public addresses.
func confine(t *template.Template) error {
	for _, tt := range t.Templates() {
		if tt.Tree == nil {
			continue
		}
		if err := confineNode(tt.Tree.Root); err != nil {
			return err
		}
	}
	return nil
}

func confineNode(n parse.Node) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := confineNode(c); err != nil {
				return err
			}
		}
	case *parse.ActionNode:
		return confineNode(n.Pipe)
	case *parse.PipeNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Cmds {
			if err := confineNode(c); err != nil {
				return err
			}
		}
	case *parse.CommandNode:
		if id, ok := n.Args[0].(*parse.IdentifierNode); ok {
			literal := len(n.Args) > 1
			if literal {
				_, literal = n.Args[1].(*parse.StringNode)
			}
			switch id.Ident {
			case "env":
				if !literal {
					return errors.New(`env: write the variable's name literally ({{ env "HOME" }}): a computed name could read any of the controller's environment`)
				}
			case "lookupFile":
				if !literal {
					id.Ident = "lookupFileConfined"
				}
			case "lookupTemplate":
				if !literal {
					id.Ident = "lookupTemplateConfined"
				}
			case "fileGlob":
				if !literal {
					id.Ident = "fileGlobConfined"
				}
			case "lookupURL":
				if !literal {
					id.Ident = "lookupURLConfined"
				}
			}
		}
		for _, a := range n.Args {
			if err := confineNode(a); err != nil {
				return err
			}
		}
	case *parse.IfNode:
		return confineBranch(&n.BranchNode)
	case *parse.RangeNode:
		return confineBranch(&n.BranchNode)
	case *parse.WithNode:
		return confineBranch(&n.BranchNode)
	case *parse.TemplateNode:
		return confineNode(n.Pipe)
	}
	return nil
}

func confineBranch(b *parse.BranchNode) error {
	if err := confineNode(b.Pipe); err != nil {
		return err
	}
	if err := confineNode(b.List); err != nil {
		return err
	}
	return confineNode(b.ElseList)
}

// lookupFileConfined is lookupFile for a path a template computed: it
// reads only under the given folders (the role's and the playbook's),
// symbolic links resolved, so that a value cannot name /etc/shadow.
func lookupFileConfined(path string, dirs ...string) (string, error) {
	var roots []string
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if r, err := filepath.EvalSymlinks(d); err == nil {
			roots = append(roots, r)
		}
	}
	if len(roots) == 0 {
		return "", fmt.Errorf("lookup file %q: a computed path is read only under the playbook's or role's folder, and none is known here (write the path literally to read another file)", path)
	}
	var candidates []string
	if filepath.IsAbs(path) {
		candidates = []string{path}
	} else {
		for _, r := range roots {
			candidates = append(candidates, filepath.Join(r, "files", path), filepath.Join(r, path))
		}
	}
	for _, c := range candidates {
		real, err := filepath.EvalSymlinks(c)
		if err != nil {
			continue
		}
		if !under(real, roots) {
			return "", fmt.Errorf("lookup file %q: outside the playbook's and role's folders (%s); write the path literally to read it", path, strings.Join(roots, ", "))
		}
		return lookupFile(real)
	}
	return "", fmt.Errorf("lookup file: %s not found (looked in %s)", path, strings.Join(candidates, ", "))
}

func under(p string, roots []string) bool {
	for _, r := range roots {
		if rel, err := filepath.Rel(r, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(os.PathSeparator)) {
			return true
		}
	}
	return false
}

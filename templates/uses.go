package templates

import (
	"sync"
	"sync/atomic"
	"text/template/parse"
)

// usesCache remembers each text's names: vars are composed per host and
// task, and the same few templates come back every time.
var (
	usesCache sync.Map // text -> map[string]bool
	usesCount atomic.Int64
)

// Uses returns the top-level variables a template reads (.x, $.x,
// index . "x"); nil when it does not parse (rendering says why).
func Uses(text string) map[string]bool {
	if u, ok := usesCache.Load(text); ok {
		return u.(map[string]bool)
	}
	t, err := parseCached("", text)
	if err != nil || t.Tree == nil {
		return nil
	}
	names := map[string]bool{}
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch x := n.(type) {
		case *parse.ListNode:
			if x != nil {
				for _, c := range x.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(x.Pipe)
		case *parse.IfNode:
			walk(&x.BranchNode)
		case *parse.RangeNode:
			walk(&x.BranchNode)
		case *parse.WithNode:
			walk(&x.BranchNode)
		case *parse.BranchNode:
			walk(x.Pipe)
			walk(x.List)
			walk(x.ElseList)
		case *parse.PipeNode:
			if x != nil {
				for _, c := range x.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			if len(x.Args) >= 3 {
				if id, ok := x.Args[0].(*parse.IdentifierNode); ok && id.Ident == "index" {
					if _, ok := x.Args[1].(*parse.DotNode); ok {
						if s, ok := x.Args[2].(*parse.StringNode); ok {
							names[s.Text] = true
						}
					}
				}
			}
			for _, a := range x.Args {
				walk(a)
			}
		case *parse.FieldNode:
			names[x.Ident[0]] = true
		case *parse.VariableNode:
			if len(x.Ident) > 1 && x.Ident[0] == "$" {
				names[x.Ident[1]] = true
			}
		case *parse.ChainNode:
			walk(x.Node)
		}
	}
	walk(t.Tree.Root)
	if usesCount.Add(1) < maxParsed {
		usesCache.Store(text, names)
	}
	return names
}

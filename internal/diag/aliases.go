package diag

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// MaxExpandedNodes bounds a YAML document's size with every alias (and
// merge key) expanded: a few lines of nested aliases can stand for
// billions of nodes, and walking them would take the machine's CPU and
// memory for minutes. Real playbooks and inventories are far below it.
const MaxExpandedNodes = 2_000_000

// ParseYAML parses a YAML document into a node tree and refuses, at the
// alias's position, an alias that contains itself and a document too
// large once its aliases are expanded.
//
// A file vaulted whole is opened first, and `!vault` values after the parse,
// with the vault SetVault gave; a tag runbook does not know is refused.
func ParseYAML(src *Source) (*yaml.Node, error) {
	if err := openVaultedFile(src); err != nil {
		return nil, err
	}
	doc, err := oneDocument(src)
	if err != nil {
		return nil, err
	}
	if err := CheckAliases(src, doc); err != nil {
		return nil, err
	}
	if err := openTags(src, doc, false); err != nil {
		return nil, err
	}
	yaml11(doc)
	return doc, nil
}

// ParseYAMLKeepVault is ParseYAML for tools that carry YAML without
// running it (convert): `!vault` values and other tags are left as they
// are, a vaulted file is not opened.
func ParseYAMLKeepVault(src *Source) (*yaml.Node, error) {
	doc, err := oneDocument(src)
	if err != nil {
		return nil, err
	}
	if err := CheckAliases(src, doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// oneDocument parses src's one YAML document. A second one is refused
// where it starts, as Ansible does ("but found another document"): read
// silently, everything after the first `---` would be ignored.
func oneDocument(src *Source) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src.Text))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &yaml.Node{}, nil // an empty file: no document at all
		}
		return nil, FromYAML(src, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
		return &doc, nil
	case err != nil:
		return nil, FromYAML(src, err)
	}
	return nil, Node(src, &next, "a second YAML document starts here: a file holds one (remove the --- line, or move this document to a file of its own)")
}

// CheckAliases checks a parsed tree's aliases (see ParseYAML). Each
// anchor's expanded size is counted once, so the check is linear in the
// text, not in the expansion.
func CheckAliases(src *Source, root *yaml.Node) error {
	size := map[*yaml.Node]int{}
	open := map[*yaml.Node]bool{}
	var count func(n *yaml.Node) (int, error)
	count = func(n *yaml.Node) (int, error) {
		if n == nil {
			return 0, nil
		}
		if n.Kind == yaml.AliasNode {
			if n.Alias == nil {
				return 1, nil
			}
			if open[n.Alias] {
				return 0, Node(src, n, "alias *%s refers to the node that contains it: it would never end", n.Value)
			}
			if s, ok := size[n.Alias]; ok {
				return s, nil
			}
			return count(n.Alias)
		}
		if s, ok := size[n]; ok {
			return s, nil
		}
		open[n] = true
		total := 1
		for _, c := range n.Content {
			s, err := count(c)
			if err != nil {
				return 0, err
			}
			total += s
			if total > MaxExpandedNodes {
				return 0, Node(src, n, "%s", fmt.Sprintf("this document expands to more than %d nodes through its aliases (an alias bomb?)", MaxExpandedNodes))
			}
		}
		open[n] = false
		size[n] = total
		return total, nil
	}
	_, err := count(root)
	return err
}

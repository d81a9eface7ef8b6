package diag

import (
	"bytes"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Vault opens Ansible Vault text for every YAML input (vault.Keyring is
// one): wholly vaulted files and `!vault` values alike.
type Vault interface {
	// Open decrypts vaulted text; where names it in errors.
	Open(text []byte, where string) ([]byte, error)
	// Secret remembers a value that came out of a vault, for masking.
	Secret(value string)
}

var vaults struct {
	sync.Mutex
	current Vault
}

// SetVault sets the vault YAML inputs are opened with until the returned
// restore is called (a command sets it from its flags; nil: none given).
func SetVault(v Vault) (restore func()) {
	vaults.Lock()
	old := vaults.current
	vaults.current = v
	vaults.Unlock()
	return func() {
		vaults.Lock()
		vaults.current = old
		vaults.Unlock()
	}
}

func currentVault() Vault {
	vaults.Lock()
	defer vaults.Unlock()
	return vaults.current
}

const noSecret = "give a vault secret: --vault-password-file FILE, --vault-id [ID@]SOURCE or --ask-vault-pass"

// openVaultedFile replaces a wholly vaulted file's text by its plaintext
// (and marks the source, so no error shows a line of it).
func openVaultedFile(src *Source) error {
	if !bytes.HasPrefix(bytes.TrimLeft(src.Text, " \t\r\n"), []byte("$ANSIBLE_VAULT;")) {
		return nil
	}
	v := currentVault()
	if v == nil {
		return &Error{File: src.Name, Line: 1, Column: 1, Msg: "this file is encrypted with Ansible Vault; " + noSecret}
	}
	plain, err := v.Open(src.Text, src.Name)
	if err != nil {
		return &Error{File: src.Name, Line: 1, Column: 1, Msg: err.Error()}
	}
	src.Text, src.Vaulted = plain, true
	return nil
}

// safeTags are the YAML types a safe loader builds (PyYAML's SafeLoader,
// which Ansible uses): any other !! tag (!!python/object...) names code.
var safeTags = map[string]bool{"!!str": true, "!!int": true, "!!float": true, "!!bool": true, "!!null": true,
	"!!binary": true, "!!timestamp": true, "!!map": true, "!!seq": true, "!!merge": true, "!!set": true, "!!omap": true, "!!pairs": true}

// openTags decrypts every `!vault` value in place and refuses a tag runbook
// does not know (a value must never be used with its meaning lost: an
// encrypted text written into a file as if it were the value). Values of
// a wholly vaulted file are remembered as secrets.
func openTags(src *Source, n *yaml.Node, key bool) error {
	if n == nil {
		return nil
	}
	switch tag := n.Tag; {
	case tag == "!vault" || tag == "!vault-encrypted":
		if n.Kind != yaml.ScalarNode {
			return Node(src, n, "%s: expected the encrypted text (a block scalar from ansible-vault encrypt_string), got %s", tag, KindName(n))
		}
		v := currentVault()
		if v == nil {
			return Node(src, n, "a !vault value; %s", noSecret)
		}
		plain, err := v.Open([]byte(n.Value), "this !vault value")
		if err != nil {
			return Node(src, n, "%v", err)
		}
		n.Value, n.Tag, n.Style = string(plain), "!!str", yaml.DoubleQuotedStyle
		v.Secret(string(plain))
		return nil
	case tag == "!unsafe":
		// Ansible's "never template this": runbook keeps it as the string
		n.Tag = "!!str"
	case strings.HasPrefix(tag, "!!") && !safeTags[tag]:
		return Node(src, n, "unknown YAML tag %s: runbook knows YAML's own types (as Ansible's safe loader does), !vault and !unsafe", tag)
	case tag != "" && !strings.HasPrefix(tag, "!!") && !(n.Kind != yaml.ScalarNode && tag == "!"):
		if n.Kind == yaml.ScalarNode && n.Style&yaml.TaggedStyle == 0 {
			break // a tag yaml resolved itself
		}
		return Node(src, n, "unknown YAML tag %s: runbook knows Ansible's !vault and !unsafe", tag)
	}
	if src.Vaulted && !key && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && len(n.Value) >= 3 {
		if v := currentVault(); v != nil {
			v.Secret(n.Value)
		}
	}
	for i, c := range n.Content {
		if err := openTags(src, c, n.Kind == yaml.MappingNode && i%2 == 0); err != nil {
			return err
		}
	}
	return nil
}

// yaml11 gives plain scalars the types Ansible's YAML 1.1 loader gives
// them where YAML 1.2 (this parser) differs: yes/no/on/off are booleans; a
// date stays the text it is; a float needs a dot and a signed exponent
// (1e3 is a string).
func yaml11(n *yaml.Node) {
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode && n.Style&(yaml.TaggedStyle|yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
		switch n.ShortTag() {
		case "!!str":
			switch n.Value {
			case "yes", "Yes", "YES", "on", "On", "ON":
				n.Tag, n.Value = "!!bool", "true"
			case "no", "No", "NO", "off", "Off", "OFF":
				n.Tag, n.Value = "!!bool", "false"
			}
		case "!!timestamp":
			n.Tag = "!!str"
		case "!!float":
			v := strings.TrimLeft(n.Value, "+-")
			special := strings.HasPrefix(strings.ToLower(v), ".inf") || strings.ToLower(v) == ".nan"
			if !special && (!strings.Contains(v, ".") || strings.ContainsAny(v, "eE") && !strings.ContainsAny(v[strings.IndexAny(v, "eE"):], "+-")) {
				n.Tag = "!!str"
			}
		}
	}
	for _, c := range n.Content {
		yaml11(c)
	}
}

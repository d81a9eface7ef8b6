package modules

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
)

// ansibleArgsJSON is every documented argument of the ansible.builtin
// modules runbook has, from ansible-doc (scripts/ansible-args.sh).
//
//go:embed ansibleargs.json
var ansibleArgsJSON []byte

// AnsibleArgSpec is one documented argument of an Ansible module.
type AnsibleArgSpec struct {
	Default any    `json:"default"`
	Type    string `json:"type"`
	AliasOf string `json:"alias_of"`
}

var ansibleArgs = func() map[string]map[string]AnsibleArgSpec {
	var m map[string]map[string]AnsibleArgSpec
	if err := json.Unmarshal(ansibleArgsJSON, &m); err != nil {
		panic("modules/ansibleargs.json: " + err.Error())
	}
	return m
}()

// AnsibleArg is Ansible's documentation of a module's argument.
func AnsibleArg(module, arg string) (AnsibleArgSpec, bool) {
	s, ok := ansibleArgs[module][arg]
	return s, ok
}

// AnsibleArgs are the arguments Ansible documents for a module.
func AnsibleArgs(module string) map[string]AnsibleArgSpec { return ansibleArgs[module] }

// IsDefault says whether v is the argument's documented default (a value
// that changes nothing: unsafe_writes: false, validate_certs: yes).
func (s AnsibleArgSpec) IsDefault(v any) bool {
	if s.Default == nil {
		return v == nil
	}
	norm := func(x any) string {
		t := strings.ToLower(strings.TrimSpace(fmt.Sprint(x)))
		switch t {
		case "yes", "on", "true", "1":
			if s.Type == "bool" {
				return "true"
			}
		case "no", "off", "false", "0":
			if s.Type == "bool" {
				return "false"
			}
		}
		return t
	}
	return norm(v) == norm(s.Default)
}

// AnsibleModuleNames are the modules the table documents.
func AnsibleModuleNames() []string {
	out := make([]string, 0, len(ansibleArgs))
	for n := range ansibleArgs {
		out = append(out, n)
	}
	return out
}

package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/runbook-lab/runbook/modules"
)

// ValidateArgumentSpec is Ansible's validate_argument_spec: the variables
// (or provided_arguments) checked against an argument spec: required,
// type, choices, list elements, nested options. A role with
// meta/argument_specs.yml runs it by itself before its tasks. As in
// Ansible, the spec's defaults are documentation: no variable is set.
type ValidateArgumentSpec struct {
	ArgumentSpec      map[string]any `yaml:"argument_spec" required:"true" doc:"the options: each with type, required, choices, elements, options, aliases"`
	ProvidedArguments map[string]any `yaml:"provided_arguments" doc:"values to check (else the variables of the same names)"`
	Context           map[string]any `yaml:"validate_args_context" doc:"where the spec comes from (shown in errors)"`
}

func init() {
	modules.Register(modules.Info{ID: "validate_argument_spec", Summary: "Check variables against an argument spec (required, type, choices, elements, options); roles with meta/argument_specs.yml do it by themselves",
		Example: "validate_argument_spec:\n  argument_spec:\n    pg_port: {type: int, required: true}\n    pg_mode: {type: str, choices: [primary, standby]}",
		New:     func() modules.Module { return &ValidateArgumentSpec{} }})
}

// ControllerOnly: it reads variables only.
func (*ValidateArgumentSpec) ControllerOnly() {}

// Run checks every option.
func (v *ValidateArgumentSpec) Run(_ context.Context, env *modules.Env) (*modules.Result, error) {
	args := map[string]any{}
	for name, spec := range v.ArgumentSpec {
		names := append([]string{name}, specStrings(spec, "aliases")...)
		for _, n := range names {
			if val, ok := v.ProvidedArguments[n]; ok {
				args[name] = val
				break
			}
			if val, ok := env.Vars[n]; ok {
				args[name] = val
				break
			}
		}
	}
	errs := checkSpec(v.ArgumentSpec, args, "")
	data := map[string]any{"argument_spec_data": v.ArgumentSpec, "argument_errors": modules.AnyList(errs), "validate_args_context": v.Context}
	if len(errs) > 0 {
		where := ""
		if name, ok := v.Context["name"]; ok {
			where = fmt.Sprintf(" (role %v, entry point %v)", name, v.Context["argument_spec_name"])
		}
		return &modules.Result{Failed: true, Msg: "Validation of arguments failed" + where + ":\n" + strings.Join(errs, "\n"), Data: data}, nil
	}
	return &modules.Result{Msg: "The arg spec validation passed", Data: data}, nil
}

func specStrings(spec any, key string) []string {
	m, _ := spec.(map[string]any)
	var out []string
	switch x := m[key].(type) {
	case []any:
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
	case string:
		out = append(out, x)
	}
	return out
}

// checkSpec checks args against spec; prefix names nested options.
func checkSpec(spec, args map[string]any, prefix string) []string {
	var errs, missing []string
	names := make([]string, 0, len(spec))
	for n := range spec {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		s, _ := spec[name].(map[string]any)
		val, ok := args[name]
		if !ok || val == nil {
			if req, _ := s["required"].(bool); req {
				missing = append(missing, name)
			}
			continue
		}
		errs = append(errs, checkValue(prefix+name, s, val)...)
	}
	if len(missing) > 0 {
		errs = append([]string{"missing required arguments: " + strings.Join(missing, ", ") + inside(prefix)}, errs...)
	}
	return errs
}

func inside(prefix string) string {
	if prefix == "" {
		return ""
	}
	return " found in " + strings.TrimSuffix(prefix, ".")
}

// checkValue checks one value: its type (converted as Ansible would),
// choices, list elements and nested options.
func checkValue(name string, s map[string]any, val any) []string {
	typ, _ := s["type"].(string)
	if typ == "" {
		typ = "str"
	}
	conv, err := convertArg(typ, val)
	if err != nil {
		return []string{fmt.Sprintf("argument '%s' is of type %s and we were unable to convert to %s: %v", name, pyType(val), typ, err)}
	}
	var errs []string
	if choices, ok := s["choices"].([]any); ok {
		vals := []any{conv}
		if l, isList := conv.([]any); isList {
			vals = l
		}
		for _, x := range vals {
			found := false
			for _, c := range choices {
				found = found || fmt.Sprint(c) == fmt.Sprint(x)
			}
			if !found {
				cs := make([]string, len(choices))
				for i, c := range choices {
					cs[i] = fmt.Sprint(c)
				}
				errs = append(errs, fmt.Sprintf("value of %s must be one of: %s, got: %v", name, strings.Join(cs, ", "), x))
			}
		}
	}
	opts, hasOpts := s["options"].(map[string]any)
	if l, isList := conv.([]any); isList {
		if el, _ := s["elements"].(string); el != "" {
			for i, e := range l {
				sub := map[string]any{"type": el}
				if hasOpts {
					sub["options"] = opts
				}
				errs = append(errs, checkValue(fmt.Sprintf("%s[%d]", name, i), sub, e)...)
			}
		}
		return errs
	}
	if m, isMap := conv.(map[string]any); isMap && hasOpts {
		errs = append(errs, checkSpec(opts, m, name+".")...)
	}
	return errs
}

func pyType(v any) string {
	switch v.(type) {
	case string:
		return "<class 'str'>"
	case bool:
		return "<class 'bool'>"
	case int, int64:
		return "<class 'int'>"
	case float64:
		return "<class 'float'>"
	case []any:
		return "<class 'list'>"
	case map[string]any:
		return "<class 'dict'>"
	}
	return fmt.Sprintf("%T", v)
}

// convertArg is Ansible's conversion of an argument to a spec type.
func convertArg(typ string, v any) (any, error) {
	switch typ {
	case "str", "path":
		switch x := v.(type) {
		case string:
			return x, nil
		case []any, map[string]any:
			return nil, fmt.Errorf("a %s is not a string", pyType(v))
		}
		return fmt.Sprint(v), nil
	case "raw":
		return v, nil
	case "int":
		switch x := v.(type) {
		case int:
			return x, nil
		case int64:
			return int(x), nil
		case float64:
			if x == float64(int(x)) {
				return int(x), nil
			}
		case string:
			if i, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
				return i, nil
			}
		}
		return nil, fmt.Errorf("%v cannot be converted to an int", v)
	case "float":
		switch x := v.(type) {
		case int:
			return float64(x), nil
		case int64:
			return float64(x), nil
		case float64:
			return x, nil
		case string:
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
				return f, nil
			}
		}
		return nil, fmt.Errorf("%v cannot be converted to a float", v)
	case "bool":
		switch x := v.(type) {
		case bool:
			return x, nil
		case int:
			if x == 0 || x == 1 {
				return x == 1, nil
			}
		case string:
			switch strings.ToLower(x) {
			case "y", "yes", "on", "1", "true", "t":
				return true, nil
			case "n", "no", "off", "0", "false", "f":
				return false, nil
			}
		}
		return nil, fmt.Errorf("the value '%v' is not a valid boolean", v)
	case "list":
		switch x := v.(type) {
		case []any:
			return x, nil
		case string:
			var out []any
			for _, p := range strings.Split(x, ",") {
				out = append(out, p)
			}
			return out, nil
		case int, int64, float64:
			return []any{fmt.Sprint(x)}, nil
		}
		return nil, fmt.Errorf("%v cannot be converted to a list", v)
	case "dict":
		switch x := v.(type) {
		case map[string]any:
			return x, nil
		case string:
			var m map[string]any
			if json.Unmarshal([]byte(x), &m) == nil {
				return m, nil
			}
			m = map[string]any{}
			for _, kv := range strings.Fields(x) {
				k, val, ok := strings.Cut(strings.TrimSuffix(kv, ","), "=")
				if !ok {
					return nil, fmt.Errorf("dictionary requested, could not parse JSON or key=value")
				}
				m[k] = val
			}
			return m, nil
		}
		return nil, fmt.Errorf("%v cannot be converted to a dict", v)
	}
	return v, nil // bits, bytes, json...: not checked
}

var _ modules.ControllerOnly = (*ValidateArgumentSpec)(nil)

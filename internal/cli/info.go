package cli

import (
	"fmt"
	"io/fs"
	"reflect"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runbook-lab/runbook/internal/diag"
	"github.com/runbook-lab/runbook/modules"
	"github.com/runbook-lab/runbook/playbooks"
	"github.com/runbook-lab/runbook/templates"
)

func (a *app) listCmd() *cobra.Command {
	return &cobra.Command{Use: "list", Short: "List the embedded playbooks", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			for _, p := range playbooks.ListEmbedded() {
				fmt.Fprintf(a.stdout, "%-24s %s\n", p.Name, p.Description)
			}
			return nil
		}}
}

func (a *app) showCmd() *cobra.Command {
	return &cobra.Command{Use: "show NAME", Short: "Print an embedded playbook or template (to copy and edit)",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			name := args[0]
			if name == "vars" {
				name = "vars/lab.yaml" // the lab's documented variables
			}
			if name == "templates" {
				entries, _ := fs.ReadDir(templates.Files, "files")
				for _, e := range entries {
					fmt.Fprintln(a.stdout, e.Name())
				}
				return nil
			}
			if b, err := fs.ReadFile(playbooks.Embedded, name); err == nil {
				_, err = a.stdout.Write(b)
				return err
			}
			if b, err := fs.ReadFile(templates.Files, "files/"+name); err == nil {
				_, err = a.stdout.Write(b)
				return err
			}
			var names []string
			_ = fs.WalkDir(playbooks.Embedded, ".", func(p string, d fs.DirEntry, _ error) error {
				if !d.IsDir() {
					names = append(names, p)
				}
				return nil
			})
			entries, _ := fs.ReadDir(templates.Files, "files")
			for _, e := range entries {
				names = append(names, e.Name())
			}
			return fmt.Errorf("no embedded playbook or template %q%s (runbook list; runbook show templates)", name, diag.DidYouMean(name, names))
		}}
}

func (a *app) docCmd() *cobra.Command {
	return &cobra.Command{Use: "doc [MODULE]", Short: "Document modules (arguments, types, defaults, example)",
		Args: cobra.MaximumNArgs(1), ValidArgsFunction: completeModules,
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				for _, id := range modules.Default.IDs() {
					info, _ := modules.Default.Lookup(id)
					fmt.Fprintf(a.stdout, "%-18s %s\n", id, info.Summary)
				}
				return nil
			}
			info, ok := modules.Default.Lookup(args[0])
			if !ok {
				return fmt.Errorf("unknown module %q%s", args[0], diag.DidYouMean(args[0], modules.Default.IDs()))
			}
			fmt.Fprint(a.stdout, ModuleDoc(info))
			return nil
		}}
}

// ArgDoc is one documented module argument.
type ArgDoc struct {
	Name, Type, Default, Doc string
}

// ModuleArgs reads a module's arguments from its struct fields' tags.
func ModuleArgs(info modules.Info) []ArgDoc {
	v := reflect.ValueOf(info.New())
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	return structArgs(v.Elem().Type())
}

func structArgs(t reflect.Type) []ArgDoc {
	var out []ArgDoc
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if strings.HasSuffix(f.Tag.Get("yaml"), ",inline") {
			out = append(out, structArgs(f.Type)...)
			continue
		}
		name := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		out = append(out, ArgDoc{Name: name, Type: typeName(f.Type), Default: f.Tag.Get("default"), Doc: f.Tag.Get("doc")})
	}
	return out
}

func typeName(t reflect.Type) string {
	switch t.Name() {
	case "Mode":
		return "octal mode"
	case "StringList":
		return "string or list"
	case "Secret":
		return "secret string"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return typeName(t.Elem()) // optional: unset differs from the zero value
	case reflect.Slice:
		return "list of " + typeName(t.Elem())
	case reflect.Map:
		return "mapping"
	case reflect.Interface:
		return "any"
	case reflect.Float64:
		return "number"
	}
	return t.Kind().String()
}

// ModuleDoc renders `runbook doc MODULE`.
func ModuleDoc(info modules.Info) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", info.ID, info.Summary)
	m := info.New()
	var notes []string
	if ff, ok := m.(modules.FreeForm); ok {
		notes = append(notes, fmt.Sprintf("free form: `%s: TEXT` sets %s", info.ID, ff.FreeFormArg()))
	}
	if _, ok := m.(modules.RawArgs); ok {
		notes = append(notes, "arguments: any names")
	}
	if _, ok := m.(modules.ControllerOnly); ok {
		notes = append(notes, "runs on the controller (no connection)")
	}
	sort.Strings(notes)
	for _, n := range notes {
		fmt.Fprintf(&b, "  (%s)\n", n)
	}
	if args := ModuleArgs(info); len(args) > 0 {
		b.WriteString("\nArguments:\n")
		for _, a := range args {
			def := ""
			if a.Default != "" {
				def = " (default " + a.Default + ")"
			}
			fmt.Fprintf(&b, "  %-20s %-16s %s%s\n", a.Name, a.Type, a.Doc, def)
		}
	}
	b.WriteString("\nExample:\n")
	for _, l := range strings.Split(info.Example, "\n") {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	return b.String()
}

package playbooks

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

//go:embed embedded
var embedded embed.FS

// Embedded is the playbooks compiled into runbook, by file name.
var Embedded, _ = fs.Sub(embedded, "embedded")

// EmbeddedInfo is an embedded playbook's name and one-line description
// (its first comment line).
type EmbeddedInfo struct {
	Name, Description string
}

// ListEmbedded lists the top-level embedded playbooks.
func ListEmbedded() []EmbeddedInfo {
	entries, _ := fs.ReadDir(Embedded, ".")
	var out []EmbeddedInfo
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		b, _ := fs.ReadFile(Embedded, e.Name())
		desc := ""
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "#") {
				desc = strings.TrimSpace(strings.TrimPrefix(l, "#"))
				break
			}
		}
		out = append(out, EmbeddedInfo{Name: e.Name(), Description: desc})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

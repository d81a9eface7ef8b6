package templates_test

import (
	"io/fs"
	"regexp"
	"testing"

	"github.com/runbook-lab/runbook/internal/testrig/pgtest"
	"github.com/runbook-lab/runbook/templates"
)

// The question failover.sh asks every node has the shape its parser (and
// the decision table's fake psql) expects, asked of a real PostgreSQL: a
// fake that answers "t" where PostgreSQL says "true" proves nothing.
func TestFailoverProbeOnARealServer(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	text, _ := fs.ReadFile(templates.Files, "files/failover.sh.tmpl")
	sqlRE := regexp.MustCompile(`(?m)^probe\(\) \{\n  a=\$\(ask "\$1" "\$2" "(.*)"\) \|\| return 1$`)
	m := sqlRE.FindStringSubmatch(string(text))
	if m == nil {
		t.Fatal("no probe() question in failover.sh.tmpl")
	}
	p := pgtest.New(t).Primary("p")
	got := p.SQL(m[1])
	if !regexp.MustCompile(`^f\|[0-9A-F]+/[0-9A-F]+\|$`).MatchString(got) {
		t.Errorf("a primary answers %q, want f|LSN|", got)
	}
}

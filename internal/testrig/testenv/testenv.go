// Package testenv holds what the integration-test harnesses share.
package testenv

import (
	"os"
	"testing"
)

// SkipOrFail skips a test whose real part (sshd, PostgreSQL, the lab)
// cannot run here, saying why; under CI (CI set) that is a failure, so a
// missing dependency never passes silently.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("cannot run in CI: "+format, args...)
	}
	t.Skipf("skipping: "+format, args...)
}

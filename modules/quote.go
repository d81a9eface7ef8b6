package modules

import "github.com/runbook-lab/runbook/hostexec"

// Quote quotes s for a POSIX shell (hostexec.Quote, the one helper).
func Quote(s string) string { return hostexec.Quote(s) }

// Join quotes each argument and joins them into one command line.
func Join(args ...string) string { return hostexec.Join(args...) }

// Command runbook is an Ansible-like task runner with the PostgreSQL HA lab
// playbooks embedded.
package main

import (
	"os"

	"github.com/runbook-lab/runbook/internal/cli"
	"github.com/runbook-lab/runbook/internal/profile"
)

func main() {
	stop := profile.Start() // RUNBOOK_PROFILE=prefix: CPU and peak-heap profiles
	code := cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

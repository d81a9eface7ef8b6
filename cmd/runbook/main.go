// Command runbook is an Ansible-like task runner with the PostgreSQL HA lab
// playbooks embedded.
package main

import (
	"os"

	"github.com/runbook-lab/runbook/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

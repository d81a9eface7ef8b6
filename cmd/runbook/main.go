// Command runbook is an Ansible-like task runner with the PostgreSQL HA lab
// playbooks embedded.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/runbook-lab/runbook/internal/cli"
	"github.com/runbook-lab/runbook/internal/profile"
	_ "github.com/runbook-lab/runbook/modules/all" // the modules this binary carries: every one
)

// stopGrace is how long runbook may take to stop cleanly after Ctrl-C or
// SIGTERM (running commands are cancelled, the recap is printed); a step
// that does not notice in that time (a huge template, a stuck read) must
// not keep the process alive, and a second signal stops it at once.
const stopGrace = 10 * time.Second

func main() {
	stop := profile.Start() // RUNBOOK_PROFILE=prefix: CPU and peak-heap profiles
	go watchdog()
	code := cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func watchdog() {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	select {
	case <-sig:
	case <-time.After(stopGrace):
	}
	fmt.Fprintln(os.Stderr, "runbook: interrupted; stopping now")
	os.Exit(130)
}

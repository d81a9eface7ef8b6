// Package all registers every module compiled into runbook: importing it
// (for its side effect) fills modules.Default.
package all

import (
	_ "github.com/runbook-lab/runbook/modules/builtin" // files, commands, packages, services, controller-side steps
	_ "github.com/runbook-lab/runbook/modules/pg"      // PostgreSQL and pgpool-II
	_ "github.com/runbook-lab/runbook/modules/virt"    // libvirt, disks, images, cloud-init
)

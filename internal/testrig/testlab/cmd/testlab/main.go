// Command testlab builds the test lab for people: `testlab image` builds
// the cached base image, `testlab up [N]` starts N hosts and prints the
// inventory path, `testlab down` tears everything down (make lab-up /
// make lab-down).
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/runbook-lab/runbook/internal/testrig/testlab"
)

func main() {
	ctx := context.Background()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: testlab image | up [N] | libvirtd | down")
		os.Exit(1)
	}
	var err error
	switch os.Args[1] {
	case "image":
		begin := time.Now()
		var img *testlab.Image
		img, err = testlab.BuildImage(ctx)
		if err == nil {
			fmt.Printf("image %s ready (%s)\n", img.Rootfs, time.Since(begin).Round(time.Second))
		}
	case "up":
		n := 4
		if len(os.Args) > 2 {
			n, _ = strconv.Atoi(os.Args[2])
		}
		begin := time.Now()
		var lab *testlab.Lab
		lab, err = testlab.Up(ctx, testlab.DefaultNames(n))
		if err == nil {
			fmt.Printf("%d hosts up in %s; inventory: %s\nrun commands inside the lab namespace:\n  ip netns exec %s runbook run all -i %s -m command -a 'systemctl is-system-running'\n",
				n, time.Since(begin).Round(time.Millisecond), lab.InventoryFile, lab.NS, lab.InventoryFile)
		}
	case "libvirtd":
		var lab *testlab.Lab
		if lab, err = testlab.Load(); err == nil {
			if err = lab.StartLibvirtd(ctx); err == nil {
				fmt.Printf("libvirtd runs in %s (pid %d), socket %s\n", lab.NS, lab.LibvirtdPID, testlab.LibvirtSocket)
			}
		}
	case "down":
		begin := time.Now()
		err = testlab.Down()
		if err == nil {
			fmt.Printf("lab down in %s\n", time.Since(begin).Round(time.Millisecond))
		}
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testlab:", err)
		os.Exit(1)
	}
}

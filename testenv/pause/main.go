// Command pause holds a Pod's namespaces for the real node's container
// runtime (its sandbox image): it waits, reaps the children it inherits, and
// exits on SIGINT or SIGTERM. Built with Go from the test environment's build
// (testenv/scripts/build-node.sh) and packed into an image of its own.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}

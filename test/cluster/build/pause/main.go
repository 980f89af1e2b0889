// Command pause is the Pod sandbox ("infra") container of the test cluster:
// it does nothing until it gets SIGINT or SIGTERM, and reaps orphaned
// children meanwhile (it is PID 1 of the Pod's shared PID namespace, if any).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
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

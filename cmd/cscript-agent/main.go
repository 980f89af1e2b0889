// Command cscript-agent is the container's side of cscript's file transfers:
// a small static binary that cscript copies into a container before a large
// upload or a download (see transfer/agent.go). It is not meant to be run by
// hand.
package main

import (
	"os"
	"runtime/debug"

	"github.com/cscript-dev/cscript/transfer"
)

func main() {
	// The agent's heap is a few S2 blocks and buffers; collecting it less
	// often saves CPU on the container's (shared) cores.
	debug.SetGCPercent(400)
	growPipes()
	os.Exit(transfer.AgentMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

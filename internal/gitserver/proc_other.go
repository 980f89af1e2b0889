//go:build !unix

package gitserver

import "os/exec"

// newGroup does nothing without unix process groups.
func newGroup(*exec.Cmd) {}

// killGroup kills git daemon itself.
func killGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }

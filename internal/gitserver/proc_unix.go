//go:build unix

package gitserver

import (
	"os/exec"
	"syscall"
)

// newGroup starts cmd in a process group of its own, so that the children
// git daemon forks per connection end with it.
func newGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// killGroup kills cmd's process group.
func killGroup(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }

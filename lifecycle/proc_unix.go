//go:build unix

package lifecycle

import (
	"os/exec"
	"syscall"
)

// procGroup is the process group of a started script: the script and
// everything it starts, so that a timeout stops them all.
type procGroup struct{ pid int }

// newProcessGroup makes cmd, once started, the leader of a process group of its own.
func newProcessGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// groupOf returns the process group of cmd, started after newProcessGroup.
func groupOf(cmd *exec.Cmd) *procGroup { return &procGroup{pid: cmd.Process.Pid} }

// kill kills every process of the group.
func (g *procGroup) kill() { _ = syscall.Kill(-g.pid, syscall.SIGKILL) }

// release frees what the group holds (nothing here).
func (g *procGroup) release() {}

//go:build windows

package lifecycle

import (
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/windows"
)

// procGroup is the script and everything it starts, so that a timeout stops
// them all: a Job Object the script is assigned to right after it starts
// (children it starts belong to the job too). When the job cannot be had,
// kill stops the script alone.
type procGroup struct {
	proc *os.Process
	job  windows.Handle // 0 without a job
}

// newProcessGroup starts cmd in a new process group, so that a console
// interrupt meant for cscript does not reach the script as well.
func newProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
}

// groupOf puts cmd, started after newProcessGroup, into a new Job Object.
func groupOf(cmd *exec.Cmd) *procGroup {
	g := &procGroup{proc: cmd.Process}
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return g
	}
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(cmd.Process.Pid))
	if err != nil {
		_ = windows.CloseHandle(job)
		return g
	}
	defer windows.CloseHandle(h)
	if err := windows.AssignProcessToJobObject(job, h); err != nil {
		_ = windows.CloseHandle(job)
		return g
	}
	g.job = job
	return g
}

// kill terminates every process of the job, and the script itself in any case.
func (g *procGroup) kill() {
	if g.job != 0 {
		_ = windows.TerminateJobObject(g.job, 1)
	}
	_ = g.proc.Kill()
}

// release closes the job's handle (the processes it holds go on).
func (g *procGroup) release() {
	if g.job != 0 {
		_ = windows.CloseHandle(g.job)
		g.job = 0
	}
}

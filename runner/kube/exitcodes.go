package kube

import "github.com/cscript-dev/cscript/runner"

// The core's exit codes under the names this backend's code uses.
const (
	exitRunFailed  = runner.ExitRunFailed
	exitCannotExec = runner.ExitCannotExec
	exitNoTool     = runner.ExitNoTool
	exitSignalBase = runner.ExitSignalBase
	exitRefused    = runner.ExitRefused
)

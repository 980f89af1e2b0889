package kube

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/cscript-dev/cscript/transfer"
)

// cappedBuffer keeps the output of a command cscript runs in the container
// for its own use (not the script's output, which streams through), at most
// max bytes: a write past that fails, which stops the command's stream, and
// over says so. A hostile or broken image cannot make cscript buffer
// without end.
type cappedBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func newCappedBuffer(max int) *cappedBuffer { return &cappedBuffer{max: max} }

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		b.over = true
		return 0, errTooMuchOutput
	}
	return b.Buffer.Write(p)
}

// tooLarge is the error for a command whose output passed the cap.
func (b *cappedBuffer) tooLarge(what string) error {
	return fmt.Errorf("%s printed more than %s: the image's tools do not behave as expected", what, transfer.FormatBytes(int64(b.max)))
}

var errTooMuchOutput = errors.New("output larger than cscript reads")

// Bounds of what cscript reads from its own commands in the container.
const (
	maxSetupOutput  = 64 << 10 // setup's report line
	maxStderrKept   = 64 << 10 // a command's stderr, for messages (its end)
	maxSetupFailure = 64 << 10 // runScript's failure report on stderr
	maxProbeOutput  = 64 << 10 // the memory cgroup's events
)

// maxEnvOutput bounds the values of n env vars read in the container: a
// Secret holds at most 1 MiB.
func maxEnvOutput(n int) int { return (n + 1) << 20 }

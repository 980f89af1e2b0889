package runner

import "github.com/cscript-dev/cscript/internal/tailbuf"

// TailBuffer keeps the last bytes of a Job's or a Docker container's output.
type TailBuffer = tailbuf.Buffer

// NewTailBuffer keeps the last max bytes.
func NewTailBuffer(max int) *TailBuffer { return tailbuf.New(max) }

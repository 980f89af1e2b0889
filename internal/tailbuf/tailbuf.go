// Package tailbuf keeps the end of a stream of output (a remote's stderr,
// a script's output) in bounded memory.
package tailbuf

import "sync"

// Buffer keeps the last max bytes written to it (the output of a Job or
// a Docker container, a remote command's stderr), bounded however much is
// written. Safe for concurrent use.
type Buffer struct {
	mu        sync.Mutex
	max       int
	b         []byte
	truncated bool
}

// New keeps the last max bytes.
func New(max int) *Buffer { return &Buffer{max: max} }

func (t *Buffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 2*t.max {
		t.b = append(t.b[:0:0], t.b[len(t.b)-t.max:]...)
		t.truncated = true
	}
	return len(p), nil
}

// Tail returns the kept bytes and whether earlier ones were dropped.
func (t *Buffer) Tail() (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.b) > t.max {
		return string(t.b[len(t.b)-t.max:]), true
	}
	return string(t.b), t.truncated
}

// String returns the kept bytes.
func (t *Buffer) String() string {
	s, _ := t.Tail()
	return s
}

package runner

import "sync"

// TailBuffer keeps the last max bytes written to it: the output of a Job or
// a Docker container, bounded however much the script prints.
type TailBuffer struct {
	mu        sync.Mutex
	max       int
	b         []byte
	truncated bool
}

// NewTailBuffer keeps the last max bytes.
func NewTailBuffer(max int) *TailBuffer { return &TailBuffer{max: max} }

func (t *TailBuffer) Write(p []byte) (int, error) {
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
func (t *TailBuffer) Tail() (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.b) > t.max {
		return string(t.b[len(t.b)-t.max:]), true
	}
	return string(t.b), t.truncated
}

// String returns the kept bytes.
func (t *TailBuffer) String() string {
	s, _ := t.Tail()
	return s
}

package redact

import (
	"errors"
	"io"
	"sync"
)

// ErrClosed is returned by a Write after Close.
var ErrClosed = errors.New("redact: write after close")

// Writer redacts a stream. It holds back only the bytes at the end of the
// data written so far that could still be the start of a secret (at most the
// longest pattern's length minus one, plus the line breaks of a wrapped base64
// form) and passes everything else through at once, so live output stays
// live. Close writes what is held back; it does
// not close the underlying writer.
//
// A Writer is safe for concurrent use; separate Writers (one for stdout, one
// for stderr) may share one Redactor.
type Writer struct {
	r *Redactor
	w io.Writer

	mu      sync.Mutex
	pending []byte    // held back: may be the start of a secret
	st      scanState // about pending[0]
	out     []byte    // reused output buffer
	closed  bool
}

var _ io.WriteCloser = (*Writer)(nil)

// Writer returns a Writer that redacts what is written to it and writes the
// result to w.
func (r *Redactor) Writer(w io.Writer) *Writer {
	return &Writer{r: r, w: w}
}

// Write redacts p and writes what can be decided to the underlying writer.
// It returns len(p) when that write succeeds.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, ErrClosed
	}
	m := w.r.matcher()
	if m == nil {
		// No secrets (yet): pass through, after anything held back earlier.
		if len(w.pending) > 0 {
			if err := w.emit(w.pending); err != nil {
				return 0, err
			}
			w.st.col = advanceCol(w.st.col, w.pending)
			w.pending = w.pending[:0]
		}
		if len(p) == 0 {
			return 0, nil
		}
		w.st.col = advanceCol(w.st.col, p)
		if _, err := w.w.Write(p); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	buf := p
	if len(w.pending) > 0 {
		w.pending = append(w.pending, p...)
		buf = w.pending
	}
	out, n, st := m.scan(w.out[:0], buf, w.st, false)
	w.out, w.st = out, st
	// Keep the undecided tail; copy it because buf may be p or pending.
	tail := buf[n:]
	if len(tail) > 0 {
		w.pending = append(w.pending[:0], tail...)
	} else {
		w.pending = w.pending[:0]
	}
	if len(out) > 0 {
		if err := w.emit(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (w *Writer) emit(b []byte) error {
	_, err := w.w.Write(b)
	return err
}

// Close writes the bytes held back, redacted, to the underlying writer.
// Later Writes fail with ErrClosed; Close is idempotent.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if len(w.pending) == 0 {
		return nil
	}
	var out []byte
	if m := w.r.matcher(); m != nil {
		out, _, _ = m.scan(nil, w.pending, w.st, true)
	} else {
		out = w.pending
	}
	w.pending = nil
	return w.emit(out)
}

// Pending returns how many bytes are held back.
func (w *Writer) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending)
}

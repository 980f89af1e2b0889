package transfer

import (
	"errors"
	"io"
	"slices"
	"sync"

	"github.com/cscript-dev/cscript/internal/tailbuf"
)

const bufSize = 256 << 10

// bufPool holds the 256 KiB copy buffers; a pool of scratch memory, not state.
var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// copyBuf copies with a pooled buffer. The wrappers hide ReaderFrom and
// WriterTo so that io.CopyBuffer really uses it (tar.Writer's ReadFrom would
// use its own small one).
func copyBuf(dst io.Writer, src io.Reader) (int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	return io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, *bp)
}

// errTooLarge is returned by limitWriter past its limit.
var errTooLarge = errors.New("output too large")

// limitWriter writes at most n bytes to w, then fails.
type limitWriter struct {
	w io.Writer
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		return 0, errTooLarge
	}
	l.n -= int64(len(p))
	return l.w.Write(p)
}

// tail keeps the end of a remote command's stderr, for messages.
type tail = tailbuf.Buffer

func newTail(max int) *tail { return tailbuf.New(max) }

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// progress is a progress bar, or nothing when out is nil.
func sortedNames(m map[string]fileSum) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// capReader passes at most limit bytes of r; reading more is a
// *TooLargeError (and the reading stops there: a decompressor behind r is
// not asked for more).
type capReader struct {
	r     io.Reader
	left  int64
	limit int64
}

// newCapReader caps r at limit bytes; a negative limit is none.
func newCapReader(r io.Reader, limit int64) io.Reader {
	if limit < 0 {
		return r
	}
	return &capReader{r: r, left: limit, limit: limit}
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, &TooLargeError{Limit: c.limit}
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1] // one byte more tells a stream of exactly limit bytes from a longer one
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n - 1, &TooLargeError{Limit: c.limit}
	}
	return n, err
}

package transfer

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/s2"
)

// With the agent, --compress uses S2 (klauspost/compress), which compresses
// at several hundred MB/s per core where gzip manages tens: on a fast link
// gzip costs more time than the bytes it saves. An S2 stream has no end
// marker, and a report follows it on the same stream, so the compressed
// bytes travel in frames: a 4-byte big-endian length, then that many bytes;
// a zero length ends the stream.

// s2Block is the S2 block size: 4 MiB blocks compress about 20% faster than
// the default 1 MiB, at the same ratio on an SQL dump.
const s2Block = 4 << 20

// maxFrame bounds one frame, so that a corrupt length cannot make the reader
// allocate or wait for gigabytes.
const maxFrame = 4 << 20

// frameWriter writes each Write as one frame to w. Close writes the end
// frame; it does not close w.
type frameWriter struct {
	w   io.Writer
	hdr [4]byte
}

func (f *frameWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), maxFrame)
		binary.BigEndian.PutUint32(f.hdr[:], uint32(n))
		if _, err := f.w.Write(f.hdr[:]); err != nil {
			return written, err
		}
		if _, err := f.w.Write(p[:n]); err != nil {
			return written, err
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

func (f *frameWriter) Close() error {
	binary.BigEndian.PutUint32(f.hdr[:], 0)
	_, err := f.w.Write(f.hdr[:])
	return err
}

// frameReader reads the payload of frames from r until the end frame (then
// io.EOF). It reads nothing past the end frame. A stream that ends before the
// end frame is io.ErrUnexpectedEOF.
type frameReader struct {
	r    io.Reader
	left int // bytes left in the current frame
	done bool
}

func (f *frameReader) Read(p []byte) (int, error) {
	if f.done {
		return 0, io.EOF
	}
	if f.left == 0 {
		var hdr [4]byte
		if _, err := io.ReadFull(f.r, hdr[:]); err != nil {
			return 0, unexpected(err)
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n == 0 {
			f.done = true
			return 0, io.EOF
		}
		if n > maxFrame {
			return 0, fmt.Errorf("frame of %d bytes (at most %d)", n, maxFrame)
		}
		f.left = int(n)
	}
	if len(p) > f.left {
		p = p[:f.left]
	}
	n, err := f.r.Read(p)
	f.left -= n
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Codecs of the agent's stream.
const (
	codecNone = "none"
	codecS2   = "s2"
	codecGzip = "gzip" // the scripts' compression: gzip -c in the container
)

// compressWriter wraps w in the codec, compressing on up to encoders
// goroutines. Close flushes the codec and ends the frames; it does not close
// w.
//
// cscript compresses on one goroutine: the other core carries the stream
// anyway, and one encoder keeps its memory at two blocks (one encoder per
// core under cscript's 40 MiB soft memory limit made the garbage collector
// run 230 times per 500 MB). The agent, which has no other work and no such
// limit, uses one per core.
func compressWriter(w io.Writer, codec string, encoders int) io.WriteCloser {
	if codec != codecS2 {
		return nopCloser{w}
	}
	fw := &frameWriter{w: w}
	return &s2Writer{enc: s2.NewWriter(fw, s2.WriterBlockSize(s2Block), s2.WriterConcurrency(max(encoders, 1))), fw: fw}
}

type s2Writer struct {
	enc *s2.Writer
	fw  *frameWriter
}

func (s *s2Writer) Write(p []byte) (int, error) { return s.enc.Write(p) }

func (s *s2Writer) Close() error {
	if err := s.enc.Close(); err != nil {
		return err
	}
	return s.fw.Close()
}

// decompressReader reads the codec's stream from br, stopping at its end so
// that what follows (the report) stays in br.
func decompressReader(br *bufio.Reader, codec string) io.Reader {
	if codec != codecS2 {
		return br
	}
	return s2.NewReader(&frameReader{r: br}, s2.ReaderMaxBlockSize(s2Block))
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

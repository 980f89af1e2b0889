package transfer

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/klauspost/compress/s2"
)

// With the agent, --compress uses S2 (klauspost/compress), which compresses
// at several hundred MB/s per core where gzip manages tens: on a fast link
// gzip costs more time than the bytes it saves.
//
// The stream is a sequence of frames, each one S2 block of at most 4 MiB of
// input: a 4-byte big-endian header, then that many bytes. The header's top
// bit marks a block stored as is (S2 would not have made it smaller); a
// zero header ends the stream, and whatever follows (the report) is not
// part of it. Blocks carry no checksum of their own: every file's sha256 is
// compared at the end anyway, and S2's stream format would add a CRC-32C
// pass over every byte on each side.
//
// Blocks are compressed in parallel and written by a goroutine of their
// own. Their buffers live as long as the stream: S2's own Writer recycles
// them through a sync.Pool, which every garbage collection empties, and
// under cscript's 40 MiB soft memory limit that made the collector run about
// 200 times per 500 MB.

// s2Block is the size of a block: 4 MiB blocks compress about 20% faster
// than 1 MiB ones, at the same ratio on an SQL dump.
const s2Block = 4 << 20

// frameRaw marks a frame whose payload is the block's bytes as they are.
const frameRaw = 1 << 31

// maxFrame bounds a frame's payload, so that a corrupt header cannot make
// the reader allocate or wait for gigabytes.
var maxFrame = s2.MaxEncodedLen(s2Block)

// blockWriter compresses what is written to it in s2Block blocks on up to
// encoders goroutines, and its own goroutine writes the frames to w in
// order, so that the caller goes on reading and hashing while a frame is
// on its way. Close compresses the last block, waits for every frame and
// writes the end frame; it does not close w. Abort stops it without the
// end frame. One of them must be called.
type blockWriter struct {
	w     io.Writer
	fill  *block      // the block being filled
	free  chan *block // blocks to fill
	queue chan *block // blocks being compressed, in order, to the writer
	made  int         // blocks allocated so far, at most cap(free)
	wrote chan struct{}
	err   atomic.Pointer[error] // the first write error
	ended bool
}

type block struct {
	in   []byte // s2Block capacity
	out  []byte // maxFrame + 4 capacity: header and payload
	done chan struct{}
}

// encode compresses in into out (the header, then the payload) and closes
// done.
func (b *block) encode() {
	enc := s2.Encode(b.out[4:cap(b.out)], b.in)
	n := len(enc)
	hdr := uint32(n)
	if n >= len(b.in) {
		n = copy(b.out[4:cap(b.out)], b.in)
		hdr = uint32(n) | frameRaw
	}
	binary.BigEndian.PutUint32(b.out[:4], hdr)
	b.out = b.out[:4+n]
	close(b.done)
}

// maxEncoders bounds the encoders of one stream: each holds a block of
// about 8 MiB, and a container without a CPU limit sees every core of its
// node.
const maxEncoders = 4

func newBlockWriter(w io.Writer, encoders int) *blockWriter {
	// One block more than encoders: one fills while the others compress or
	// are written. Blocks are allocated as the stream needs them, so a small
	// file costs one.
	n := min(max(encoders, 1), maxEncoders) + 1
	bw := &blockWriter{w: w, free: make(chan *block, n), queue: make(chan *block, n), wrote: make(chan struct{})}
	go bw.write()
	return bw
}

// next returns a block to fill: a free one, a new one while fewer than
// cap(free) exist, else the next one the writer hands back.
func (bw *blockWriter) next() *block {
	select {
	case b := <-bw.free:
		return b
	default:
	}
	if bw.made < cap(bw.free) {
		bw.made++
		return &block{in: make([]byte, 0, s2Block), out: make([]byte, 0, 4+maxFrame)}
	}
	return <-bw.free
}

// write writes the frames of the queued blocks as they are compressed and
// hands the blocks back. After a failed write it only hands them back.
func (bw *blockWriter) write() {
	defer close(bw.wrote)
	for b := range bw.queue {
		<-b.done
		if bw.err.Load() == nil {
			if _, err := bw.w.Write(b.out); err != nil {
				bw.err.Store(&err)
			}
		}
		bw.free <- b
	}
}

func (bw *blockWriter) failed() error {
	if p := bw.err.Load(); p != nil {
		return *p
	}
	return nil
}

func (bw *blockWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if err := bw.failed(); err != nil {
			return written, err
		}
		if bw.fill == nil {
			bw.fill = bw.next()
			bw.fill.in = bw.fill.in[:0]
		}
		b := bw.fill
		n := copy(b.in[len(b.in):cap(b.in)], p)
		b.in = b.in[:len(b.in)+n]
		written += n
		p = p[n:]
		if len(b.in) == cap(b.in) {
			bw.start()
		}
	}
	return written, bw.failed()
}

// start compresses the block being filled in the background and queues it
// for the writer.
func (bw *blockWriter) start() {
	b := bw.fill
	bw.fill = nil
	b.done = make(chan struct{})
	go b.encode()
	bw.queue <- b
}

// end stops the writer after the queued blocks and waits for it.
func (bw *blockWriter) end() {
	if !bw.ended {
		bw.ended = true
		close(bw.queue)
		<-bw.wrote
	}
}

func (bw *blockWriter) Close() error {
	if bw.ended {
		return errors.New("blockWriter: closed twice")
	}
	if bw.fill != nil && len(bw.fill.in) > 0 {
		bw.start()
	}
	bw.end()
	if err := bw.failed(); err != nil {
		return err
	}
	var end [4]byte
	_, err := bw.w.Write(end[:])
	return err
}

// Abort stops the writer without the end frame: the receiver sees a stream
// cut short.
func (bw *blockWriter) Abort() { bw.end() }

// blockReader reads the blocks' bytes from r until the end frame (then
// io.EOF). It reads nothing past the end frame. A stream that ends before
// the end frame is io.ErrUnexpectedEOF; a block that does not decode is an
// error.
type blockReader struct {
	r    io.Reader
	comp []byte // a compressed frame
	buf  []byte // its decoded bytes
	out  []byte // what of buf is still to be read
	raw  int    // bytes left of a stored frame
	done bool
}

func newBlockReader(r io.Reader) *blockReader {
	return &blockReader{r: r}
}

func (f *blockReader) Read(p []byte) (int, error) {
	for len(f.out) == 0 && f.raw == 0 {
		if f.done {
			return 0, io.EOF
		}
		if err := f.next(); err != nil {
			return 0, err
		}
	}
	if len(f.out) > 0 {
		n := copy(p, f.out)
		f.out = f.out[n:]
		return n, nil
	}
	if len(p) > f.raw {
		p = p[:f.raw]
	}
	n, err := f.r.Read(p)
	f.raw -= n
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// next reads the next frame's header, and decodes the frame when it is
// compressed.
func (f *blockReader) next() error {
	var hdr [4]byte
	if _, err := io.ReadFull(f.r, hdr[:]); err != nil {
		return unexpected(err)
	}
	h := binary.BigEndian.Uint32(hdr[:])
	n := int(h &^ frameRaw)
	switch {
	case h == 0:
		f.done = true
		return nil
	case h&frameRaw != 0:
		if n > s2Block {
			return fmt.Errorf("stored frame of %d bytes (at most %d)", n, s2Block)
		}
		f.raw = n
		return nil
	case n > maxFrame:
		return fmt.Errorf("frame of %d bytes (at most %d)", n, maxFrame)
	}
	if f.comp == nil {
		f.comp = make([]byte, maxFrame)
		f.buf = make([]byte, s2Block)
	}
	if _, err := io.ReadFull(f.r, f.comp[:n]); err != nil {
		return unexpected(err)
	}
	if dl, err := s2.DecodedLen(f.comp[:n]); err != nil || dl > s2Block {
		return fmt.Errorf("a corrupt S2 block (decoded length %d, %v)", dl, err)
	}
	out, err := s2.Decode(f.buf, f.comp[:n])
	if err != nil {
		return fmt.Errorf("a corrupt S2 block: %w", err)
	}
	f.out = out
	return nil
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
func compressWriter(w io.Writer, codec string, encoders int) io.WriteCloser {
	if codec != codecS2 {
		return nopCloser{w}
	}
	return newBlockWriter(w, encoders)
}

// CompressS2 is compressWriter's S2 stream, on up to encoders goroutines,
// for benchmarks.
func CompressS2(w io.Writer, encoders int) io.WriteCloser { return newBlockWriter(w, encoders) }

// decompressReader reads the codec's stream from br, stopping at its end so
// that what follows (the report) stays in br.
func decompressReader(br *bufio.Reader, codec string) io.Reader {
	if codec != codecS2 {
		return br
	}
	return newBlockReader(br)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

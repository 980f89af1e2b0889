package transfer

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"
)

const catMarker = "CSCRIPT-CAT-1\t"

// Download copies the file or directory src from the container to dst and
// verifies it against the container's own sizes and sha256 of the source
// (see the package comment). dst names the file or directory to create (its
// parent is created if missing); a dst ending in a separator names a
// directory to copy into. Nothing appears at dst unless everything was
// received and verified: the transfer goes to a temporary directory beside
// dst, removed on any error, and is renamed into place at the end. A file
// replaces an existing file; a directory may replace only an empty one
// (ErrExists otherwise). A missing src is an error wrapping fs.ErrNotExist.
func Download(ctx context.Context, ex Executor, src RemotePath, dst LocalPath, opts Options) (*Result, error) {
	res, err := download(ctx, ex, src, dst, opts)
	var changed *agentChangedError
	if errors.As(err, &changed) {
		// Nothing was transferred: install the agent again (into a new
		// directory) and transfer with that one.
		changed.forget()
		res, err = download(ctx, ex, src, dst, opts)
	}
	return res, err
}

func download(ctx context.Context, ex Executor, src RemotePath, dst LocalPath, opts Options) (*Result, error) {
	dir, name, err := src.split("")
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	remote := path.Join(dir, name)
	local := thisMachine()
	if reason := unsafeName(local.rules(), name); reason != "" {
		// The name becomes a local file's name.
		return nil, fmt.Errorf("download %s: %s", remote, reason)
	}
	dstPath, err := dst.resolve(name)
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	tools, err := toolsFor(ctx, ex, opts, true)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", remote, err)
	}
	agent := useAgent(ctx, ex, tools, opts, true)
	if m := tools.Missing(false); agent == nil && len(m) > 0 {
		return nil, fmt.Errorf("download %s: %w", remote, &MissingToolError{Missing: m})
	}
	side := remoteFor(agent, tools, opts.Compress, false, dir, name)
	useTar, codec, checkSHA, cmd := side.useTar, side.codec, side.checkSHA, side.cmd
	compress := codec != codecNone

	parent := filepath.Dir(dstPath)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".cscript-"+shorten(filepath.Base(dstPath))+"-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			_ = os.RemoveAll(tmp)
		}
	}()
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	defer root.Close()

	prog := newProgress(opts.Progress, -1, opts.Label)
	ok := false
	defer func() { prog.done(ok) }()
	execCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	stderr := newTail(8192)
	done := make(chan error, 1)
	// The remote side waits for its stdin to close before it exits, and we
	// close it only once the report is in: the end of a process's output can
	// be lost when the process exits with megabytes still in flight through
	// containerd (seen on the test cluster with kubectl exec … cat as well).
	hold, release := io.Pipe()
	go func() {
		err := ex.Exec(execCtx, cmd, hold, pw, stderr)
		pw.CloseWithError(err)
		done <- err
	}()
	files, rep, rerr := receive(bufio.NewReaderSize(pr, bufSize), root, local, name, useTar, codec, agent != nil, maxBytes(opts.MaxBytes), prog)
	release.Close()
	if rerr != nil {
		// Stop the remote side: it may be blocked writing to us.
		cancel()
		pr.CloseWithError(rerr)
	}
	execErr := <-done

	if ctx.Err() != nil {
		return nil, fmt.Errorf("download %s: %w", remote, ctx.Err())
	}
	var se *streamError
	var changed *agentChangedError
	var tl *TooLargeError
	switch {
	case errors.As(rerr, &tl):
		return nil, fmt.Errorf("download %s: %w", remote, tl)
	case errors.As(rerr, &changed):
		changed.st = tools.agent
		return nil, fmt.Errorf("download %s: %w", remote, rerr)
	case errors.As(rerr, &se):
		return nil, fmt.Errorf("download %s: %w", remote, &VerifyError{
			Reason: "the stream from the container is incomplete or corrupt (" + se.Error() + ")", WantBytes: -1, GotBytes: -1,
			Err: remoteFailure("exec", execErr, stderr)})
	case rerr != nil:
		return nil, fmt.Errorf("download %s: %w", remote, rerr)
	case rep.missing:
		return nil, fmt.Errorf("download %s: %w", remote, fs.ErrNotExist)
	case rep.isDir:
		return nil, fmt.Errorf("download %s: a directory needs tar: %w", remote, &MissingToolError{Missing: []string{"tar"}})
	}
	if err := compareFiles(rep.files, files, checkSHA, false, "in the container", "in what arrived"); err != nil {
		var ve *VerifyError
		if errors.As(err, &ve) {
			ve.Err = remoteFailure("tar", execErr, stderr)
		}
		return nil, fmt.Errorf("download %s: %w", remote, err)
	}
	if rep.tarRC != 0 {
		return nil, fmt.Errorf("download %s: %w", remote, &RemoteError{Step: "tar", Stderr: stderr.String(), Err: fmt.Errorf("exit status %d", rep.tarRC)})
	}
	if execErr != nil {
		return nil, fmt.Errorf("download %s: %w", remote, remoteFailure("exec", execErr, stderr))
	}
	if err := os.Rename(filepath.Join(tmp, name), dstPath); err != nil {
		if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
			err = fmt.Errorf("%s: %w", dstPath, ErrExists)
		}
		return nil, fmt.Errorf("download %s: %w", remote, err)
	}
	_ = os.Remove(tmp)
	keep = true
	ok = true
	res := resultOf(files)
	res.Verified = VerifiedBytes
	if checkSHA {
		res.Verified = VerifiedSHA256
	}
	res.Compressed = compress
	res.Agent = agent != nil
	res.NoAgent = tools.noAgent()
	return res, nil
}

// receive reads the remote script's output: the archive (or the raw bytes of
// one file), written under root, then the report. viaAgent says that the
// agent runs: its check may have found it changed (runAgentScript). At
// most limit bytes of archive (once decompressed) or file are read (-1: no
// limit).
func receive(br *bufio.Reader, root *os.Root, local *localFS, name string, useTar bool, codec string, viaAgent bool, limit int64, prog *progress) (map[string]fileSum, *report, error) {
	if head, err := br.Peek(len(agentChanged)); viaAgent && err == nil && string(head) == agentChanged {
		line, _ := br.ReadSlice(0)
		return nil, nil, parseAgentChanged(line, nil)
	}
	if head, err := br.Peek(len(reportMarker) + 1); err == nil && string(head) == reportMarker+"\x00" {
		rep, err := readReport(br)
		return nil, rep, err
	}
	var files map[string]fileSum
	if useTar {
		var r io.Reader
		switch codec {
		case codecGzip:
			gz, err := gzip.NewReader(br)
			if err != nil {
				return nil, nil, &streamError{fmt.Errorf("read gzip stream: %w", err)}
			}
			// The report follows the gzip member, uncompressed.
			gz.Multistream(false)
			r = gz
		default:
			r = decompressReader(br, codec)
		}
		r = newCapReader(r, limit)
		var err error
		files, err = extract(tar.NewReader(r), root, ExtractOptions{Prefix: name, Progress: prog, local: local})
		if err != nil {
			return nil, nil, err
		}
		if codec != codecNone {
			// The rest of the compressed stream (tar's padding) and its end.
			if _, err := copyBuf(io.Discard, r); err != nil {
				var tl *TooLargeError
				if errors.As(err, &tl) {
					return nil, nil, tl
				}
				return nil, nil, &streamError{fmt.Errorf("read %s stream: %w", codec, err)}
			}
		}
	} else {
		line, err := br.ReadSlice('\n')
		if err != nil || !bytes.HasPrefix(line, []byte(catMarker)) {
			return nil, nil, &streamError{fmt.Errorf("no size line from the container (%q)", clip(string(line)))}
		}
		size, err := strconv.ParseInt(strings.TrimSpace(string(line[len(catMarker):])), 10, 64)
		if err != nil || size < 0 {
			return nil, nil, &streamError{fmt.Errorf("bad size line from the container (%q)", clip(string(line)))}
		}
		if limit >= 0 && size > limit {
			return nil, nil, &TooLargeError{Limit: limit}
		}
		prog.setTotal(size)
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("download: %w", err)
		}
		h := sha256.New()
		src := &readErr{r: io.LimitReader(br, size)}
		n, err := copyBuf(io.MultiWriter(f, h, prog), src)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if src.err != nil {
			return nil, nil, &streamError{src.err}
		}
		if err != nil {
			return nil, nil, fmt.Errorf("download: %w", err)
		}
		if n != size {
			return nil, nil, &streamError{fmt.Errorf("the stream ends after %d of %d bytes", n, size)}
		}
		files = map[string]fileSum{name: {size: n, sha: hex.EncodeToString(h.Sum(nil))}}
	}
	rep, err := readReport(br)
	return files, rep, err
}

// readReport reads the report, up to its end record (the remote side is
// still running then, waiting for its stdin to close) or the end of the
// stream.
func readReport(br *bufio.Reader) (*report, error) {
	var data []byte
	for {
		rec, err := br.ReadSlice(0)
		if errors.Is(err, bufio.ErrBufferFull) {
			err = nil
		}
		data = append(data, rec...)
		if len(data) > maxReport {
			return nil, &streamError{fmt.Errorf("report larger than %d bytes", maxReport)}
		}
		if err == io.EOF || string(rec) == "end\x00" {
			break
		}
		if err != nil {
			return nil, &streamError{fmt.Errorf("read report: %w", err)}
		}
	}
	rep, err := parseReport(data)
	if err != nil {
		return nil, &streamError{err}
	}
	return rep, nil
}

// shorten keeps temporary names well under the 255-byte name limit. It
// cuts at a character boundary: half a UTF-8 character is not a valid name
// on macOS or Windows.
func shorten(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	n := max
	// At most UTFMax-1 continuation bytes end a cut character.
	for i := 0; i < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(s[n]); i++ {
		n--
	}
	return s[:n]
}

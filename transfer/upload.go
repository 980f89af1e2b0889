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
	"strings"
	"sync"
	"time"
)

// errRemoteDone closes the stream when the remote command has returned.
var errRemoteDone = errors.New("the remote command ended before reading all of its input")

// localError marks a failure on the local side of a stream (reading the
// source), as opposed to the remote end going away.
type localError struct{ err error }

func (e *localError) Error() string { return e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

// item is one entry of an upload.
type item struct {
	name  string // archive name, slash-separated, no leading "./"
	local string
	info  fs.FileInfo
	link  string // symlink target
}

// Upload copies the local file or directory src to dst in the container and
// verifies what arrived (see the package comment). dst names the file or
// directory to create (its parent is created if missing); a dst ending in "/"
// names a directory to copy into. A directory upload merges into an existing
// directory. Symlinks inside a directory are sent as symlinks; other special
// files are an error.
func Upload(ctx context.Context, ex Executor, src LocalPath, dst RemotePath, opts Options) (*Result, error) {
	res, err := upload(ctx, ex, src, dst, opts)
	var changed *agentChangedError
	if errors.As(err, &changed) {
		// The agent read nothing: install it again (into a new directory)
		// and transfer with that one (or the scripts, for an upload too
		// small to install it for).
		changed.forget()
		res, err = upload(ctx, ex, src, dst, opts)
	}
	return res, err
}

func upload(ctx context.Context, ex Executor, src LocalPath, dst RemotePath, opts Options) (*Result, error) {
	srcPath := filepath.Clean(string(src))
	fi, err := os.Stat(srcPath)
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("upload %s: not a regular file or directory", srcPath)
	}
	dir, name, err := dst.split(filepath.Base(srcPath))
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	items, total, err := plan(srcPath, name, fi)
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	minBytes := opts.AgentMinBytes
	if minBytes == 0 {
		minBytes = defaultAgentMinBytes
	}
	worth := total >= minBytes
	tools, err := toolsFor(ctx, ex, opts, worth)
	if err != nil {
		return nil, fmt.Errorf("upload %s: %w", srcPath, err)
	}
	agent := useAgent(ctx, ex, tools, opts, worth)
	if m := tools.Missing(fi.IsDir()); agent == nil && len(m) > 0 {
		return nil, fmt.Errorf("upload %s: %w", srcPath, &MissingToolError{Missing: m})
	}

	side := remoteFor(agent, tools, opts.Compress, true, dir, name)
	useTar, codec, checkSHA, cmd := side.useTar, side.codec, side.checkSHA, side.cmd
	compress := codec != codecNone

	prog := newProgress(opts.Progress, total, opts.Label)
	pr, pw := io.Pipe()
	stream := &countWriter{w: pw}
	sent := map[string]fileSum{}
	var werr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if useTar {
			werr = writeTar(stream, items, codec, uploadEncoders, sent, prog)
		} else {
			werr = writeRaw(stream, items[0], sent, prog)
		}
		pw.CloseWithError(werr)
	}()
	var stdout bytes.Buffer
	stderr := newTail(8192)
	execErr := ex.Exec(ctx, cmd, pr, &limitWriter{w: &stdout, n: maxReport}, stderr)
	pr.CloseWithError(errRemoteDone)
	wg.Wait()

	ok := false
	defer func() { prog.done(ok) }()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("upload %s: %w", srcPath, ctx.Err())
	}
	var le *localError
	if errors.As(werr, &le) {
		return nil, fmt.Errorf("upload: %w", le.err)
	}
	remote := path.Join(dir, name)
	if agent != nil && bytes.HasPrefix(stdout.Bytes(), []byte(agentChanged)) {
		return nil, fmt.Errorf("upload %s to %s: %w", srcPath, remote, parseAgentChanged(stdout.Bytes(), tools.agent))
	}
	rep, perr := parseReport(stdout.Bytes())
	if perr != nil {
		return nil, fmt.Errorf("upload %s to %s: %w", srcPath, remote, &VerifyError{
			Reason: "no complete report from the container (" + perr.Error() + ")", WantBytes: -1, GotBytes: -1,
			Err: remoteFailure("exec", execErr, stderr)})
	}
	if werr != nil {
		// The remote side stopped reading before the end: say how far it got.
		if got, ok := rep.files[name]; !useTar && ok {
			return nil, fmt.Errorf("upload %s to %s: %w", srcPath, remote, &VerifyError{
				Path: name, Reason: "the container received only part of the file", WantBytes: items[0].info.Size(), GotBytes: got.size,
				Err: remoteFailure("cat", execErr, stderr)})
		}
		return nil, fmt.Errorf("upload %s to %s: %w", srcPath, remote, &VerifyError{
			Reason: "the container stopped reading its input before the end", WantBytes: -1, GotBytes: rep.stdin,
			Err: remoteFailure("tar", execErr, stderr)})
	}
	if rep.stdin >= 0 && rep.stdin != stream.n {
		return nil, fmt.Errorf("upload %s to %s: %w", srcPath, remote, &VerifyError{
			Reason: "the container read a different number of bytes from its stdin", WantBytes: stream.n, GotBytes: rep.stdin,
			Err: remoteFailure("tar", execErr, stderr)})
	}
	if err := compareFiles(sent, rep.files, checkSHA, fi.IsDir(), "locally", "in the container"); err != nil {
		var ve *VerifyError
		if errors.As(err, &ve) {
			ve.Err = remoteFailure("tar", execErr, stderr)
		}
		return nil, fmt.Errorf("upload %s to %s: %w", srcPath, remote, err)
	}
	if rep.tarRC != 0 {
		return nil, fmt.Errorf("upload %s to %s: %w", srcPath, remote, &RemoteError{Step: "tar", Stderr: stderr.String(), Err: fmt.Errorf("exit status %d", rep.tarRC)})
	}
	if execErr != nil {
		return nil, fmt.Errorf("upload %s to %s: %w", srcPath, remote, remoteFailure("exec", execErr, stderr))
	}
	ok = true
	res := resultOf(sent)
	res.Verified = VerifiedBytes
	if checkSHA {
		res.Verified = VerifiedSHA256
	}
	res.Compressed = compress
	res.Agent = agent != nil
	res.NoAgent = tools.noAgent()
	return res, nil
}

// uploadEncoders is how many S2 blocks cscript compresses at once for an
// upload: two keep a loopback stream busy on two shared cores (a third
// block fills meanwhile, 25 MiB in all), and more would not help a slower
// link.
const uploadEncoders = 2

// remoteSide is how a transfer runs in the container.
type remoteSide struct {
	cmd      []string
	useTar   bool   // the stream is a tar archive (else one file's bytes)
	codec    string // codecNone, codecGzip or codecS2
	checkSHA bool   // the report has every file's sha256
}

// remoteFor chooses the container's side of an upload (up) or a download of
// dir/name: the agent when there is one, else the scripts with what the
// image has.
func remoteFor(agent *installedAgent, tools *Tools, compress, up bool, dir, name string) remoteSide {
	if agent != nil {
		r := remoteSide{useTar: true, codec: codecNone, checkSHA: true}
		if compress {
			r.codec = codecS2
		}
		verb := "send"
		if up {
			verb = "recv"
		}
		r.cmd = []string{"sh", "-c", runAgentScript, "sh", agent.path, agent.sum, verb, dir, name, r.codec}
		return r
	}
	r := remoteSide{useTar: tools.Tar, codec: codecNone, checkSHA: tools.SHA256Sum}
	if r.useTar && compress && tools.Gzip {
		r.codec = codecGzip
	}
	args := []string{dir, name, flag(r.codec == codecGzip), flag(r.checkSHA)}
	var script string
	switch {
	case up && r.useTar:
		script = uploadTarScript
		args = append(args, flag(tools.Tee && tools.DevFD)) // count stdin
	case up:
		script = uploadCatScript
		args = append(args, "0")
	case r.useTar:
		script = downloadTarScript
	default:
		script = downloadCatScript
	}
	r.cmd = append([]string{"sh", "-c", script, "sh"}, args...)
	return r
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// remoteFailure describes a failed exec, or returns nil when nothing failed
// and stderr is empty.
func remoteFailure(step string, execErr error, stderr *tail) error {
	s := strings.TrimSpace(stderr.String())
	if execErr == nil && s == "" {
		return nil
	}
	return &RemoteError{Step: step, Stderr: s, Err: execErr}
}

// plan lists what to send: the file, or the directory tree in walk order
// (parents before children), renamed to name. total is the sum of file sizes.
func plan(src, name string, fi fs.FileInfo) ([]item, int64, error) {
	if !fi.IsDir() {
		return []item{{name: name, local: src, info: fi}}, fi.Size(), nil
	}
	var items []item
	var total int64
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		it := item{name: path.Join(name, filepath.ToSlash(rel)), local: p}
		if it.info, err = d.Info(); err != nil {
			return err
		}
		switch m := it.info.Mode(); {
		case m.IsRegular():
			total += it.info.Size()
		case m.IsDir():
		case m&fs.ModeSymlink != 0:
			if it.link, err = os.Readlink(p); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: cannot send a %s", p, m.Type())
		}
		items = append(items, it)
		return nil
	})
	return items, total, err
}

// writeTar writes the archive of items to w through codec ("gzip", "s2" or
// "none"; S2 on up to encoders goroutines), recording each file's size and
// sha256 in sent.
func writeTar(w io.Writer, items []item, codec string, encoders int, sent map[string]fileSum, prog io.Writer) error {
	bw := bufio.NewWriterSize(w, bufSize)
	var out io.WriteCloser
	if codec == codecGzip {
		out, _ = gzip.NewWriterLevel(bw, gzip.BestSpeed)
	} else {
		out = compressWriter(bw, codec, encoders)
	}
	closed := false
	defer func() {
		// A failure leaves the stream cut short, and no goroutine behind.
		if a, ok := out.(interface{ Abort() }); ok && !closed {
			a.Abort()
		}
	}()
	tw := tar.NewWriter(out)
	for _, it := range items {
		hdr := &tar.Header{
			Name:    it.name,
			Mode:    int64(it.info.Mode().Perm()),
			ModTime: it.info.ModTime().Truncate(time.Second),
			Format:  tar.FormatGNU,
		}
		switch m := it.info.Mode(); {
		case m.IsDir():
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		case m&fs.ModeSymlink != 0:
			hdr.Typeflag = tar.TypeSymlink
			hdr.Linkname = it.link
		default:
			hdr.Typeflag = tar.TypeReg
			hdr.Size = it.info.Size()
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("archive %s: %w", it.local, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		sum, err := sendFile(tw, it, prog)
		if err != nil {
			return err
		}
		sent[it.name] = sum
	}
	if err := tw.Close(); err != nil {
		return err
	}
	closed = true
	if err := out.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// writeRaw sends the bytes of one file.
func writeRaw(w io.Writer, it item, sent map[string]fileSum, prog io.Writer) error {
	sum, err := sendFile(w, it, prog)
	if err != nil {
		return err
	}
	sent[it.name] = sum
	return nil
}

// sendFile copies exactly the planned size of a file to w and hashes it.
// Errors reading the file are *localError; errors writing are the stream's.
func sendFile(w io.Writer, it item, prog io.Writer) (fileSum, error) {
	f, err := os.Open(it.local)
	if err != nil {
		return fileSum{}, &localError{err}
	}
	defer f.Close()
	h := sha256.New()
	src := &readErr{r: io.LimitReader(f, it.info.Size())}
	n, err := copyBuf(io.MultiWriter(w, h, prog), src)
	if src.err != nil {
		return fileSum{}, &localError{fmt.Errorf("read %s: %w", it.local, src.err)}
	}
	if err != nil {
		return fileSum{}, err
	}
	if n != it.info.Size() {
		return fileSum{}, &localError{fmt.Errorf("%s: file shrank while being sent (%d of %d bytes)", it.local, n, it.info.Size())}
	}
	return fileSum{size: n, sha: hex.EncodeToString(h.Sum(nil))}, nil
}

// readErr remembers a read error so that it can be told from a write error.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

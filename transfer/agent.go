package transfer

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"time"
)

// The agent is this package's remote side as one small static binary
// (cmd/cscript-agent) that cscript copies into the container before a large
// transfer. It speaks the same report protocol as the sh scripts (see the
// package comment), so the local side verifies its work the same way, but it
// does in one process what the scripts need several busybox processes for:
// it hashes every file while writing or reading it (Go's sha256, which uses
// the CPU's SHA instructions, is five times faster than busybox's
// sha256sum), counts stdin as it reads it, and compresses with S2. On the
// 2 shared cores of the test machine the scripts' extra copies and hashing
// cost more CPU than the stream itself.
//
//	cscript-agent version                    prints "cscript-agent <AgentProtocol>"
//	cscript-agent sum FILE                   prints "<size> <sha256>"
//	cscript-agent recv DIR NAME CODEC        an upload: stdin is the archive of NAME
//	cscript-agent send DIR NAME CODEC        a download: stdout is the archive of NAME
//
// CODEC is "none" or "s2" (S2 blocks in frames, see frame.go). Like the
// scripts, recv keeps stdout open until it has read all of stdin, then
// reports what it read and wrote.

// AgentProtocol is the version of the agent's command line and output.
const AgentProtocol = "2"

// AgentMain runs the agent with args (without the program name) and returns
// its exit status: 0 when it ran (failures of the transfer are in the
// report), 2 for bad usage, 3 when the destination cannot be made.
func AgentMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	usage := func() int {
		fmt.Fprintln(stderr, "usage: cscript-agent version | sum FILE | recv DIR NAME CODEC | send DIR NAME CODEC")
		return 2
	}
	if len(args) == 0 {
		return usage()
	}
	switch args[0] {
	case "version":
		fmt.Fprintln(stdout, "cscript-agent "+AgentProtocol)
		return 0
	case "sum":
		if len(args) != 2 {
			return usage()
		}
		n, sum, err := fileSHA256(args[1])
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "%d %s\n", n, sum)
		return 0
	case "recv", "send":
		if len(args) != 4 || (args[3] != codecNone && args[3] != codecS2) {
			return usage()
		}
		if args[0] == "recv" {
			return agentRecv(args[1], args[2], args[3], stdin, stdout, stderr)
		}
		rc := agentSend(args[1], args[2], args[3], stdout, stderr)
		waitForEOF(stdin, time.Minute)
		return rc
	}
	return usage()
}

// agentRecv extracts the archive on stdin under dir (created if missing)
// with the same checks as Extract, drains stdin, and reports.
func agentRecv(dir, name, codec string, stdin io.Reader, stdout, stderr io.Writer) int {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(stderr, err)
		return 3
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 3
	}
	defer root.Close()
	in := &countReader{r: stdin}
	br := bufio.NewReaderSize(in, bufSize)
	r := decompressReader(br, codec)
	rc := 0
	files, err := extract(tar.NewReader(r), root, ExtractOptions{Prefix: name})
	if err != nil {
		fmt.Fprintln(stderr, "cscript-agent:", err)
		rc = 2
	}
	// Read to the end, as tar's padding and the sender's closing bytes must
	// be counted too, and so that the sender never blocks.
	_, _ = copyBuf(io.Discard, r)
	_, _ = copyBuf(io.Discard, br)
	out := bufio.NewWriter(stdout)
	fmt.Fprintf(out, "%s\x00tar\t%d\x00stdin\t%d\x00", reportMarker, rc, in.n)
	writeFileRecords(out, files)
	out.WriteString("end\x00")
	if err := out.Flush(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// agentSend writes the archive of dir/name to stdout, hashing every file as
// it reads it, then the report. A symlink named by the transfer itself is
// followed.
func agentSend(dir, name, codec string, stdout, stderr io.Writer) int {
	out := bufio.NewWriterSize(stdout, bufSize)
	src := filepath.Join(dir, name)
	if real, err := filepath.EvalSymlinks(src); err == nil {
		src = real // a symlink named by the transfer is followed, to a directory too
	}
	fi, err := os.Stat(src)
	if err != nil {
		fmt.Fprintf(out, "%s\x00missing\x00end\x00", reportMarker)
		if err := out.Flush(); err != nil {
			return 1
		}
		return 0
	}
	items, _, err := plan(src, name, fi)
	if err != nil {
		fmt.Fprintln(stderr, "cscript-agent:", err)
		fmt.Fprintf(out, "%s\x00tar\t2\x00end\x00", reportMarker)
		if err := out.Flush(); err != nil {
			return 1
		}
		return 0
	}
	sent := map[string]fileSum{}
	if err := writeTar(out, items, codec, runtime.GOMAXPROCS(0), sent, newProgress(nil, -1, "")); err != nil {
		// The archive is cut: the local side sees a broken stream and this
		// message, never a report that would pass.
		fmt.Fprintln(stderr, "cscript-agent:", err)
		return 1
	}
	fmt.Fprintf(out, "%s\x00tar\t0\x00", reportMarker)
	writeFileRecords(out, sent)
	out.WriteString("end\x00")
	if err := out.Flush(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// waitForEOF keeps a download's process alive until the local side, holding
// the report, closes stdin (see Download), at most d.
func waitForEOF(stdin io.Reader, d time.Duration) {
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
	}
}

func writeFileRecords(w *bufio.Writer, files map[string]fileSum) {
	for _, n := range sortedNames(files) {
		f := files[n]
		fmt.Fprintf(w, "F\t%d\t%s\t./%s\x00", f.size, f.sha, path.Clean(n))
	}
}

func fileSHA256(name string) (int64, string, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := copyBuf(h, f)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

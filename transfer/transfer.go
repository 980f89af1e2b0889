// Package transfer copies files and directories between the local machine and
// a container through an exec stream, like kubectl cp, but verified and safe.
//
// # Why every transfer ends with a report
//
// Stdin of an exec session is not reliable: containerd's CRI stream server
// closes the client's stdin as soon as the exec'd process's stdout reaches EOF,
// and the process still exits 0 (see docs/exec-stdin.md). So an exit status
// proves nothing. Every remote command this package runs is a small POSIX sh
// script whose shell stays alive, keeping stdout open until stdin has been
// consumed, and which then prints a report on stdout; the local side compares
// that report with what it sent or received and fails with a *VerifyError on
// any difference or on a missing report.
//
// # The report
//
// A report is a sequence of NUL-terminated records, so that file names (which
// may hold newlines, quotes or any byte but NUL) need no escaping:
//
//	CSCRIPT-REPORT-1              the marker; a report starts with it
//	tar<TAB>RC                    exit status of the remote tar (or cat)
//	stdin<TAB>N | stdin<TAB>-     upload: bytes the remote read from stdin
//	F<TAB>SIZE<TAB>SHA<TAB>NAME   one per regular file: wc -c, sha256sum or -
//	missing | isdir               download: the source does not exist / is a
//	                              directory and the image has no tar
//	end                           the report is complete
//
// # Upload
//
// The local side streams a tar archive (optionally gzip-compressed) built with
// archive/tar through an io.Pipe into the remote script, hashing each file as
// it is read, so memory stays constant and nothing is staged on disk. The
// remote script runs
//
//	tee /dev/fd/5 | { tar -x; cat >/dev/null; }   with fd 5 piped into wc -c
//
// so it counts every byte it read from stdin (the archive, compressed or not)
// and drains stdin even when tar stops early, then walks the extracted path
// and prints the size and sha256 of every regular file. A truncated stdin shows
// up as a short stdin count, a missing file or a short file; a corrupted one as
// a sha256 mismatch. Where the image has no tee or /dev/fd the stdin count is
// left out ("stdin -") and the per-file check remains. Without tar, a single
// file is sent raw into `cat > file` in a shell that stays alive, followed by
// the same per-file report.
//
// # Download
//
// The remote script writes `tar -c ./NAME` (or `tar -cz`) to stdout, then the
// report of the source files (tar's status and every file's size and sha256).
// The local side extracts the archive with Extract into a fresh temporary
// directory next to the destination, hashing as it writes, compares what it
// received with the report, and renames the result into place only when every
// file matches. On any error the temporary directory is removed, so the final
// path never holds a partial file. Without tar, a single file is sent by
// `cat` after a line giving its size.
//
// # The agent
//
// With Options.Agent set, a download or a large upload first copies the
// agent (cmd/cscript-agent, see agent.go and agentinstall.go) into the
// container, once per Tools, into a directory of its own (mktemp -d, mode
// 0700, written with noclobber: nothing planted in the container is
// followed or reused), and runs it in place of the scripts, after a check
// that it is still the binary installed (sha256) in a private directory;
// one that changed is installed again. It reads
// or writes the same archive and prints the same report, computed while the
// bytes stream: the local side verifies it exactly as above. --compress then
// means S2 in length-prefixed frames (frame.go) instead of gzip. If the
// agent cannot be installed or run, the scripts do the work.
//
// # Safety
//
// Extract refuses, with *UnsafeEntryError, absolute names, names with ".."
// components, names and symlink targets that are paths on Windows (a
// backslash, a drive letter, a UNC prefix: refused on every system, and on
// Windows device names, data streams and trailing dots too), entries outside
// the requested prefix, device files, fifos and
// sparse files (a few bytes could expand to terabytes),
// hardlinks to anything but a file extracted earlier from the same archive,
// symlinks whose target is absolute or contains "..", a top-level symlink,
// any write through a symlink, and names that alias one file (spelt
// differently, or differing in case or Unicode normalisation: one file on
// macOS and Windows), so that every file counted and verified is a file on
// disk. Report names are made canonical the same way; a name reported twice
// is an error. All writes go through an os.Root opened at the
// destination. Paths handed to a remote shell are always positional
// parameters, never spliced into the script.
package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cscript-dev/cscript/internal/fail"
)

// Executor runs cmd in the container, streaming stdin into it and its output
// into stdout and stderr. It returns when the command has exited and all of
// its output has been written; a non-zero exit status is an error. stdin may
// be nil.
type Executor interface {
	Exec(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// LocalPath is a path on the local machine.
type LocalPath string

// RemotePath is a path inside the container (always slash-separated). A
// relative path is relative to the container's working directory.
type RemotePath string

// Options tune a transfer.
type Options struct {
	// Compress gzips the stream when the image has gzip (silently not
	// otherwise; Result.Compressed says which).
	Compress bool
	// Progress receives a progress bar (bytes, rate, ETA); nil shows nothing.
	// Pass nil when the writer is not a terminal.
	Progress io.Writer
	// Label is the progress bar's description.
	Label string
	// Tools is the result of an earlier Probe of the same container; nil
	// probes again, and a zero Tools is filled in by the first transfer that
	// gets it (transfers sharing one must then run one after another).
	// Transfers that share a Tools install the agent once.
	Tools *Tools
	// Agent returns the agent binary (cmd/cscript-agent) built for a
	// container architecture (a GOARCH name), or nil. When it is set and has
	// a binary for the container, transfers copy it into the container once
	// (verified) and let it do the container's side; otherwise, or when the
	// container cannot run it, they use the image's sh, tar and sha256sum.
	Agent func(arch string) []byte
	// AgentMinBytes is the smallest upload worth installing the agent for
	// (default 4 MiB; negative: every upload). Downloads, whose size is not
	// known in advance, always use it when they can.
	AgentMinBytes int64
	// MaxBytes bounds a download: the archive the container sends, once
	// decompressed (its files and about 1 KiB per entry), or the one file
	// cat sends. 0 is DefaultMaxDownload; negative is no limit. A download
	// past it stops with a *TooLargeError and leaves nothing behind.
	MaxBytes int64

	// agentDirs overrides where the agent may go (tests).
	agentDirs []string
}

// Result describes a finished, verified transfer.
type Result struct {
	// Bytes is the total size of the regular files transferred.
	Bytes int64
	// Files is the number of regular files transferred.
	Files int
	// SHA256 is the hex sha256 of the file when exactly one file was
	// transferred.
	SHA256 string
	// Verified is "sha256" when every file's sha256 was compared and "bytes"
	// when only sizes could be (the image has no sha256sum); "" from Extract.
	Verified string
	// Compressed says whether the stream was compressed (gzip by the
	// image's tools, S2 by the agent).
	Compressed bool
	// Agent says whether cscript's agent did the container's side.
	Agent bool
	// NoAgent says why not, when Options.Agent was set and the agent could
	// not be installed in the container (or has no build for it).
	NoAgent string
}

// Verification levels in Result.Verified.
const (
	VerifiedSHA256 = "sha256"
	VerifiedBytes  = "bytes"
)

// VerifyError says that what arrived differs from what was sent, or that the
// receiving side did not say what arrived.
type VerifyError struct {
	// Path is the file concerned, as named in the transfer ("" for the
	// stream as a whole).
	Path string
	// Reason says what differs, e.g. "size differs", "sha256 differs",
	// "missing in the container", "no complete report".
	Reason string
	// WantBytes and GotBytes are the sizes sent and received (-1: unknown).
	WantBytes, GotBytes int64
	// WantSHA256 and GotSHA256 are the checksums sent and received, if known.
	WantSHA256, GotSHA256 string
	// Err is the underlying failure, if any (e.g. the exec's own error).
	Err error
}

func (e *VerifyError) Error() string {
	var b strings.Builder
	b.WriteString("verify")
	if e.Path != "" {
		fmt.Fprintf(&b, " %q", e.Path)
	} else {
		b.WriteString(" stream")
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	switch {
	case e.WantBytes >= 0 && e.GotBytes >= 0:
		fmt.Fprintf(&b, " (expected %d bytes, got %d", e.WantBytes, e.GotBytes)
		if e.WantSHA256 != "" && e.GotSHA256 != "" && e.WantSHA256 != e.GotSHA256 {
			fmt.Fprintf(&b, "; sha256 expected %s, got %s", e.WantSHA256, e.GotSHA256)
		}
		b.WriteString(")")
	case e.WantBytes >= 0:
		fmt.Fprintf(&b, " (expected %d bytes)", e.WantBytes)
	case e.GotBytes >= 0:
		fmt.Fprintf(&b, " (got %d bytes)", e.GotBytes)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *VerifyError) Unwrap() error { return e.Err }

// MissingToolError says that the image lacks the tools a transfer needs.
type MissingToolError struct {
	// Missing names the commands that are absent, e.g. ["tar"] or ["sh"].
	Missing []string
	// Err is why the probe itself failed, if it did.
	Err error
}

func (e *MissingToolError) Error() string {
	msg := "the image lacks " + strings.Join(e.Missing, ", ")
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *MissingToolError) Unwrap() error { return e.Err }

// UnsafeEntryError names an archive entry that Extract refused to write.
type UnsafeEntryError struct {
	Entry  string
	Reason string
}

func (e *UnsafeEntryError) Error() string {
	return fmt.Sprintf("unsafe archive entry %q: %s", e.Entry, e.Reason)
}

// RemoteError is a failure of the remote side that is not a verification
// failure: tar exiting non-zero after every file matched, or the exec failing.
type RemoteError struct {
	// Step is what failed ("tar", "exec").
	Step string
	// Stderr is the end of the remote command's stderr.
	Stderr string
	Err    error
}

func (e *RemoteError) Error() string {
	msg := e.Step + " in the container"
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

func (e *RemoteError) Unwrap() error { return e.Err }

// DefaultMaxDownload is the default of Options.MaxBytes and
// ExtractOptions.MaxBytes: more than any download a script should bring
// back, less than fills a laptop's disk.
const DefaultMaxDownload = 10 << 30

// TooLargeError is a download larger than its limit (Options.MaxBytes).
type TooLargeError struct {
	Limit int64
}

func (e *TooLargeError) Error() string {
	return "the download is larger than its limit of " + FormatBytes(e.Limit) + "; nothing was kept"
}

// Kind is fail.Refused: cscript refused to take more.
func (e *TooLargeError) Kind() fail.Kind { return fail.Refused }

// FormatBytes writes n in the largest binary unit that keeps it readable
// ("10 GiB", "1.5 MiB", "512 bytes").
func FormatBytes(n int64) string {
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	if n < 1024 {
		return fmt.Sprintf("%d bytes", n)
	}
	v, u := float64(n)/1024, 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	s := fmt.Sprintf("%.1f", v)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + units[u]
}

// ErrExists is returned by Download when a directory would replace a
// non-empty directory at the destination.
var ErrExists = errors.New("destination exists")

// maxBytes is the limit that Options.MaxBytes or ExtractOptions.MaxBytes n
// means: -1 for none.
func maxBytes(n int64) int64 {
	switch {
	case n == 0:
		return DefaultMaxDownload
	case n < 0:
		return -1
	}
	return n
}

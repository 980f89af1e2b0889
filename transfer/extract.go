package transfer

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"runtime"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// ExtractOptions tune Extract.
type ExtractOptions struct {
	// Prefix, when set, is the only path the archive may hold: every entry
	// must be Prefix itself or under Prefix/ (compared component-wise after
	// removing a leading "./"). An entry elsewhere is an *UnsafeEntryError.
	Prefix string
	// Progress receives the bytes of file content as they are written.
	Progress io.Writer
	// MaxBytes bounds the archive read (see Options.MaxBytes): 0 is
	// DefaultMaxDownload, negative is no limit.
	MaxBytes int64

	// local is set when the destination is on the local machine (Extract,
	// Download); nil is the agent writing into a Linux container.
	local *localFS
}

// Extract writes the tar archive read from r into the directory dest
// (created if needed), entry names taken relative to dest. It refuses, with
// *UnsafeEntryError naming the entry, anything that could write outside dest
// or create something other than plain files, directories and tame links:
// absolute names, ".." components, names and link targets that are paths on
// Windows (backslashes, drive letters, \\host\share; on Windows also device
// names, data streams and trailing dots: see unsafeName), entries outside
// opts.Prefix, device files
// and fifos, hardlinks to anything but a regular file extracted earlier from
// the same archive, sparse files, symlinks with an absolute target or one containing ".."
// (so that no chain of links can lead out), a symlink as the top entry of
// opts.Prefix, any write through or over a symlink, and two names for one
// file ("d/./a" and "d/a"; "README" and "readme" or two Unicode
// normalisations of a name, one file on a case-insensitive or normalising
// file system such as macOS's or Windows'). Files get the
// archive's permission bits (masked to 0o777, no setuid/setgid/sticky; the
// umask applies), directories at least 0o700. On error, what was written so
// far stays in dest; Download extracts into a temporary directory for that
// reason.
func Extract(r io.Reader, dest LocalPath, opts ExtractOptions) (*Result, error) {
	if err := os.MkdirAll(string(dest), 0o755); err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	root, err := os.OpenRoot(string(dest))
	if err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	defer root.Close()
	opts.local = thisMachine()
	files, err := extract(tar.NewReader(newCapReader(r, maxBytes(opts.MaxBytes))), root, opts)
	if err != nil {
		return nil, err
	}
	return resultOf(files), nil
}

func resultOf(files map[string]fileSum) *Result {
	res := &Result{Files: len(files)}
	for _, f := range files {
		res.Bytes += f.size
		if len(files) == 1 {
			res.SHA256 = f.sha
		}
	}
	return res
}

// extract writes the entries of tr under root and returns the size and
// sha256 of every regular file (hardlinks included) by normalised name.
func extract(tr *tar.Reader, root *os.Root, opts ExtractOptions) (map[string]fileSum, error) {
	rules, fold := pathRules{}, foldCase
	if opts.local != nil {
		rules, fold = opts.local.rules(), opts.local.fold
	}
	prefix := ""
	if opts.Prefix != "" {
		var reason string
		prefix, reason = cleanName(rules, opts.Prefix)
		if reason != "" || prefix == "." {
			return nil, fmt.Errorf("extract: bad prefix %q", opts.Prefix)
		}
	}
	x := &extractor{root: root, prefix: prefix, files: map[string]fileSum{}, names: map[string]claimed{}, fold: fold, rules: rules, progress: opts.Progress}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return x.files, nil
		}
		if errors.Is(err, tar.ErrInsecurePath) && hdr != nil {
			return nil, &UnsafeEntryError{Entry: hdr.Name, Reason: "insecure path"}
		}
		var tl *TooLargeError
		if errors.As(err, &tl) {
			return nil, tl
		}
		if err != nil {
			return nil, &streamError{fmt.Errorf("read archive: %w", err)}
		}
		if err := x.entry(hdr, tr); err != nil {
			return nil, err
		}
	}
}

type extractor struct {
	root     *os.Root
	prefix   string
	files    map[string]fileSum // by canonical name
	names    map[string]claimed // every name written so far, by fold
	fold     func(string) string
	rules    pathRules
	progress io.Writer
}

// claimed is a name an entry wrote (or a directory above it).
type claimed struct {
	canon, raw string
	dir        bool
}

// claim records that entry writes canon (spelt raw in the archive). It
// refuses a name that is, on some file system, the same file as a name
// written earlier but spelt differently: "d/./a" after "d/a", "README" after
// "readme" (one file on a case-insensitive file system), "café" in two
// Unicode normalisations. Otherwise the earlier file would be counted and
// verified while the later one replaced it. The same spelling twice is a
// duplicate entry (tar -r): the later one replaces the earlier one.
func (x *extractor) claim(entry, raw, canon string, dir bool) error {
	k := x.fold(canon)
	prev, ok := x.names[k]
	switch {
	case !ok:
		x.names[k] = claimed{canon: canon, raw: raw, dir: dir}
		return nil
	case prev.canon != canon:
		return &UnsafeEntryError{Entry: entry, Reason: fmt.Sprintf("%q and the earlier %q are one name on a case-insensitive file system", raw, prev.raw)}
	case prev.dir || dir:
		// Directories may be named again however spelt; a file where a
		// directory was (or the reverse) fails when it is written.
		return nil
	case prev.raw != raw:
		return &UnsafeEntryError{Entry: entry, Reason: fmt.Sprintf("%q and the earlier %q name the same file", raw, prev.raw)}
	}
	return nil
}

// localFS is what extract must know of the local machine's file system.
type localFS struct {
	goos string              // its path rules (see unsafeName)
	fold func(string) string // foldName: names it may store as one file
}

// thisMachine is the local machine. (The agent, which writes into a Linux
// container, never calls it: it is smaller without Unicode normalisation's
// tables.)
func thisMachine() *localFS { return &localFS{goos: runtime.GOOS, fold: foldName} }

func (l *localFS) rules() pathRules {
	return pathRules{windowsPaths: true, windows: l.goos == "windows"}
}

// pathRules say which names unsafeName refuses besides absolute ones and
// those with ".." components.
type pathRules struct {
	// windowsPaths refuses what is a path on Windows: on the local
	// machine, whatever its system.
	windowsPaths bool
	// windows refuses what Windows reads as something else than a plain
	// name: on a Windows machine.
	windows bool
}

// foldName maps names that a case-insensitive or normalising file system
// (macOS, Windows) stores as one file to one key: Unicode NFC, then
// foldCase.
func foldName(name string) string {
	return foldCase(norm.NFC.String(name))
}

// foldCase maps each character to the smallest of its case-folding
// equivalents.
func foldCase(name string) string {
	return strings.Map(func(r rune) rune {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		return m
	}, name)
}

// cleanName returns the canonical form of an archive or report name
// (path.Clean: "./a//b/./c/" is "a/b/c"), or why rules refuse it.
func cleanName(rules pathRules, name string) (string, string) {
	if reason := unsafeName(rules, name); reason != "" {
		return "", reason
	}
	return path.Clean(name), ""
}

// unsafeName says why an entry or link name may not be used, or "". It
// refuses an absolute name and a ".." component. With rules.windowsPaths
// (on the local machine, whatever its system) it also refuses what is a
// path on Windows (a release target), which could lead out of the
// destination there and is never needed in a tar from a Linux container: a
// backslash (a separator on Windows: "..\x", "\\host\share") and a drive
// letter ("C:\x", "C:x"). With rules.windows (on Windows) it also refuses
// what Windows reads as something else than a plain name in a directory:
// device names (CON, NUL.txt, COM1), a colon (an alternate data stream),
// characters Windows does not allow, and a trailing dot or space (Windows
// drops it, so "a." is "a").
func unsafeName(rules pathRules, name string) string {
	switch {
	case name == "":
		return "empty name"
	case strings.HasPrefix(name, "/"):
		return "absolute path"
	case strings.ContainsRune(name, 0):
		return "NUL in name"
	case !rules.windowsPaths:
	case strings.ContainsRune(name, '\\'):
		return "backslash in name (a path separator on Windows)"
	case len(name) >= 2 && name[1] == ':' && ('a' <= name[0]|0x20 && name[0]|0x20 <= 'z'):
		return "drive letter (a path on Windows)"
	}
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return `path contains ".."`
		}
		if rules.windows {
			if reason := unsafeOnWindows(c); reason != "" {
				return fmt.Sprintf("%q %s", c, reason)
			}
		}
	}
	return ""
}

// unsafeOnWindows says why one path component is not a plain file name on
// Windows, or "".
func unsafeOnWindows(c string) string {
	if c == "" || c == "." {
		return ""
	}
	for _, r := range c {
		if r < 0x20 || strings.ContainsRune(`:<>"|?*`, r) {
			return fmt.Sprintf("holds %q, which Windows does not allow in a name (a colon names a data stream)", r)
		}
	}
	if strings.HasSuffix(c, ".") || strings.HasSuffix(c, " ") {
		return "ends in a dot or a space, which Windows drops (it would name another file)"
	}
	base, _, _ := strings.Cut(c, ".")
	switch strings.ToUpper(strings.TrimRight(base, " ")) {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
		"COM0", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "COM¹", "COM²", "COM³",
		"LPT0", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9", "LPT¹", "LPT²", "LPT³":
		return "is a device on Windows"
	}
	return ""
}

func (x *extractor) within(name string) bool {
	return x.prefix == "" || name == x.prefix || strings.HasPrefix(name, x.prefix+"/")
}

func (x *extractor) entry(hdr *tar.Header, r io.Reader) error {
	unsafe := func(reason string) error { return &UnsafeEntryError{Entry: hdr.Name, Reason: reason} }
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	name, reason := cleanName(x.rules, hdr.Name)
	if reason != "" {
		return unsafe(reason)
	}
	if name == "." {
		if hdr.Typeflag == tar.TypeDir && x.prefix == "" {
			return nil
		}
		return unsafe("entry names the destination itself")
	}
	if !x.within(name) {
		return unsafe(fmt.Sprintf("outside the requested path %q", x.prefix))
	}
	switch hdr.Typeflag {
	case tar.TypeDir, tar.TypeReg, tar.TypeSymlink, tar.TypeLink:
		if err := x.claim(hdr.Name, hdr.Name, name, hdr.Typeflag == tar.TypeDir); err != nil {
			return err
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := x.parents(hdr.Name, name); err != nil {
			return err
		}
		fi, err := x.root.Lstat(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := x.root.Mkdir(name, fs.FileMode(hdr.Mode)&0o777|0o700); err != nil {
				return fmt.Errorf("extract %q: %w", hdr.Name, err)
			}
		case err != nil:
			return fmt.Errorf("extract %q: %w", hdr.Name, err)
		case fi.Mode()&fs.ModeSymlink != 0:
			return unsafe("directory would replace a symlink")
		case !fi.IsDir():
			return fmt.Errorf("extract %q: a file of that name exists", hdr.Name)
		}
		return nil
	case tar.TypeReg:
		for k := range hdr.PAXRecords {
			if strings.HasPrefix(k, "GNU.sparse.") {
				return unsafe("sparse file")
			}
		}
		if err := x.parents(hdr.Name, name); err != nil {
			return err
		}
		if err := x.clear(hdr.Name, name); err != nil {
			return err
		}
		return x.writeFile(hdr, name, r)
	case tar.TypeSymlink:
		if name == x.prefix {
			return unsafe("the requested path is a symlink")
		}
		switch {
		case hdr.Linkname == "":
			return unsafe("symlink with an empty target")
		case strings.HasPrefix(hdr.Linkname, "/"):
			return unsafe(fmt.Sprintf("symlink to absolute path %q", hdr.Linkname))
		case unsafeName(x.rules, hdr.Linkname) != "":
			return unsafe(fmt.Sprintf("symlink target %q: %s", hdr.Linkname, unsafeName(x.rules, hdr.Linkname)))
		}
		if err := x.parents(hdr.Name, name); err != nil {
			return err
		}
		if _, err := x.root.Lstat(name); err == nil {
			return unsafe("symlink would replace an existing entry")
		}
		if err := x.root.Symlink(hdr.Linkname, name); err != nil {
			return fmt.Errorf("extract %q: %w", hdr.Name, err)
		}
		return nil
	case tar.TypeLink:
		target, reason := cleanName(x.rules, hdr.Linkname)
		if reason != "" {
			return unsafe("hardlink target: " + reason)
		}
		if !x.within(target) {
			return unsafe(fmt.Sprintf("hardlink to %q outside the requested path", hdr.Linkname))
		}
		sum, ok := x.files[target]
		if !ok {
			return unsafe(fmt.Sprintf("hardlink to %q, which is not a file extracted from this archive", hdr.Linkname))
		}
		if err := x.parents(hdr.Name, name); err != nil {
			return err
		}
		if err := x.clear(hdr.Name, name); err != nil {
			return err
		}
		if err := x.root.Link(target, name); err != nil {
			return fmt.Errorf("extract %q: %w", hdr.Name, err)
		}
		x.files[name] = sum
		return nil
	case tar.TypeGNUSparse:
		// A few bytes could expand into terabytes of zeros; our own uploads
		// and plain `tar -c` never produce them.
		return unsafe("sparse file")
	case tar.TypeChar, tar.TypeBlock:
		return unsafe("device file")
	case tar.TypeFifo:
		return unsafe("fifo")
	default:
		return unsafe(fmt.Sprintf("unsupported entry type %q", string(rune(hdr.Typeflag))))
	}
}

// parents makes sure every directory above name exists and is a real
// directory: creating missing ones, refusing to go through a symlink.
func (x *extractor) parents(entry, name string) error {
	dir := path.Dir(name)
	if dir == "." {
		return nil
	}
	cur := ""
	for _, c := range strings.Split(dir, "/") {
		if c == "" || c == "." {
			continue
		}
		cur = path.Join(cur, c)
		if err := x.claim(entry, cur, cur, true); err != nil {
			return err
		}
		fi, err := x.root.Lstat(cur)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := x.root.Mkdir(cur, 0o755); err != nil {
				return fmt.Errorf("extract %q: %w", entry, err)
			}
		case err != nil:
			return fmt.Errorf("extract %q: %w", entry, err)
		case fi.Mode()&fs.ModeSymlink != 0:
			return &UnsafeEntryError{Entry: entry, Reason: fmt.Sprintf("writes through symlink %q", cur)}
		case !fi.IsDir():
			return fmt.Errorf("extract %q: %q is not a directory", entry, cur)
		}
	}
	return nil
}

// clear removes a regular file at name (a duplicate entry) so that the new
// one gets a fresh inode and cannot write into a hardlinked file; it refuses
// to replace symlinks and directories.
func (x *extractor) clear(entry, name string) error {
	fi, err := x.root.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("extract %q: %w", entry, err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return &UnsafeEntryError{Entry: entry, Reason: "would write over a symlink"}
	case fi.IsDir():
		return fmt.Errorf("extract %q: a directory of that name exists", entry)
	}
	if err := x.root.Remove(name); err != nil {
		return fmt.Errorf("extract %q: %w", entry, err)
	}
	return nil
}

func (x *extractor) writeFile(hdr *tar.Header, name string, r io.Reader) error {
	f, err := x.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fs.FileMode(hdr.Mode)&0o777)
	if err != nil {
		return fmt.Errorf("extract %q: %w", hdr.Name, err)
	}
	h := sha256.New()
	var w io.Writer = io.MultiWriter(f, h)
	if x.progress != nil {
		w = io.MultiWriter(f, h, x.progress)
	}
	src := &readErr{r: r}
	n, err := copyBuf(w, src)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	var tl *TooLargeError
	if errors.As(src.err, &tl) {
		return tl
	}
	if src.err != nil {
		return &streamError{fmt.Errorf("read archive entry %q: %w", hdr.Name, src.err)}
	}
	if err != nil {
		return fmt.Errorf("extract %q: %w", hdr.Name, err)
	}
	if !hdr.ModTime.IsZero() {
		_ = x.root.Chtimes(name, hdr.ModTime, hdr.ModTime)
	}
	x.files[name] = fileSum{size: n, sha: hex.EncodeToString(h.Sum(nil))}
	return nil
}

// streamError is a failure reading the archive itself (truncated, corrupt),
// as opposed to writing what it holds.
type streamError struct{ err error }

func (e *streamError) Error() string { return e.err.Error() }
func (e *streamError) Unwrap() error { return e.err }

package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// localExec runs the command as a real local process, so that the real sh,
// tar, sha256sum, … run. path is the PATH of the "image": it decides which
// tools exist. Container paths are plain absolute paths under t.TempDir().
type localExec struct{ path string }

var _ Executor = localExec{}

func (e localExec) Exec(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	bin := ""
	if strings.Contains(cmd[0], "/") {
		bin = cmd[0] // the agent, exec'd by path
	}
	for _, dir := range filepath.SplitList(e.path) {
		if bin != "" {
			break
		}
		p := filepath.Join(dir, cmd[0])
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			bin = p
			break
		}
	}
	if bin == "" {
		return fmt.Errorf("exec: %q: executable file not found in $PATH", cmd[0])
	}
	c := exec.CommandContext(ctx, bin, cmd[1:]...)
	c.Args[0] = cmd[0]
	c.Env = []string{"PATH=" + e.path, "LC_ALL=C"}
	c.Stdin, c.Stdout, c.Stderr = stdin, stdout, stderr
	c.WaitDelay = 10 * time.Second
	return c.Run()
}

// truncatingExec reproduces the CRI bug: only the first n bytes of stdin
// reach the process, then its stdin is closed; the exit status is whatever
// the process makes of that. With discard, the rest of stdin is still read
// and thrown away, as the real stream does: the sender sees no error at all.
type truncatingExec struct {
	inner   Executor
	n       int64
	discard bool
}

func (e truncatingExec) Exec(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if stdin == nil {
		return e.inner.Exec(ctx, cmd, stdin, stdout, stderr)
	}
	cut := &cutReader{r: stdin, n: e.n, discard: e.discard}
	err := e.inner.Exec(ctx, cmd, cut, stdout, stderr)
	cut.wg.Wait()
	return err
}

type cutReader struct {
	r       io.Reader
	n       int64
	discard bool
	once    sync.Once
	wg      sync.WaitGroup
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		if c.discard {
			c.once.Do(func() {
				c.wg.Add(1)
				go func() { defer c.wg.Done(); _, _ = io.Copy(io.Discard, c.r) }()
			})
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	return n, err
}

// corruptingExec flips one byte of stdin (upload) or stdout (download) at
// offset at.
type corruptingExec struct {
	inner Executor
	at    int64
}

func (e corruptingExec) Exec(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if stdin != nil {
		stdin = &flipReader{r: stdin, at: e.at}
	}
	return e.inner.Exec(ctx, cmd, stdin, &flipWriter{w: stdout, at: e.at}, stderr)
}

type flipReader struct {
	r   io.Reader
	at  int64
	off int64
}

func (f *flipReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if f.at >= f.off && f.at < f.off+int64(n) {
		p[f.at-f.off] ^= 0x40
	}
	f.off += int64(n)
	return n, err
}

type flipWriter struct {
	w   io.Writer
	at  int64
	off int64
}

func (f *flipWriter) Write(p []byte) (int, error) {
	if f.at >= f.off && f.at < f.off+int64(len(p)) {
		q := append([]byte(nil), p...)
		q[f.at-f.off] ^= 0x40
		p = q
	}
	f.off += int64(len(p))
	return f.w.Write(p)
}

// dyingExec passes the first n bytes of stdout, then either fails like a
// broken connection or (clean) swallows the rest and reports success: a
// stream that just stops.
type dyingExec struct {
	inner Executor
	n     int64
	clean bool
}

var errConnReset = errors.New("connection reset by peer")

func (e dyingExec) Exec(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	w := &cutWriter{w: stdout, n: e.n, clean: e.clean}
	if stdin != nil {
		// A connection that is gone is gone both ways: the process's stdin
		// ends at the cut too.
		r, pw := io.Pipe()
		src := stdin // not the variable, which becomes r below
		go func() { _, err := io.Copy(pw, src); pw.CloseWithError(err) }()
		w.onCut = func() { pw.Close() }
		stdin = r
	}
	err := e.inner.Exec(ctx, cmd, stdin, w, stderr)
	if e.clean {
		return nil
	}
	if w.cut {
		return errConnReset
	}
	return err
}

type cutWriter struct {
	w     io.Writer
	n     int64
	clean bool
	cut   bool
	onCut func()
}

func (c *cutWriter) markCut() {
	if !c.cut && c.onCut != nil {
		c.onCut()
	}
	c.cut = true
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if c.n <= 0 {
		c.markCut()
		if c.clean {
			return len(p), nil
		}
		return 0, errConnReset
	}
	q := p
	if int64(len(q)) > c.n {
		q = q[:c.n]
	}
	n, err := c.w.Write(q)
	c.n -= int64(n)
	if err != nil {
		return n, err
	}
	if n < len(p) {
		c.markCut()
		if c.clean {
			return len(p), nil
		}
		return n, errConnReset
	}
	return n, nil
}

// Images: PATH directories that decide what the "container" has.

// gnuImage is the host: dash as sh, GNU tar and coreutils.
func gnuImage(t testing.TB) localExec {
	t.Helper()
	return localExec{path: "/usr/local/bin:/usr/bin:/bin"}
}

// busyboxImage is what the busybox image has: every applet linked to
// /bin/busybox.
func busyboxImage(t testing.TB) localExec {
	t.Helper()
	out, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		t.Fatalf("the test needs /bin/busybox: %v", err)
	}
	tools := map[string]string{}
	for _, name := range strings.Fields(string(out)) {
		tools[name] = "/bin/busybox"
	}
	return toolImage(t, tools)
}

// toolImage builds a PATH directory holding exactly the given commands.
func toolImage(t testing.TB, tools map[string]string) localExec {
	t.Helper()
	dir := t.TempDir()
	for name, target := range tools {
		real, err := exec.LookPath(target)
		if err != nil {
			t.Fatalf("the test needs %s: %v", target, err)
		}
		if err := os.Symlink(real, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return localExec{path: dir}
}

// coreTools are an image's basic commands without tar.
func coreTools(extra ...string) map[string]string {
	m := map[string]string{"sh": "dash", "cat": "cat", "wc": "wc", "sha256sum": "sha256sum", "tee": "tee", "mkdir": "mkdir", "gzip": "gzip"}
	for _, e := range extra {
		m[e] = e
	}
	return m
}

// noTarImage has sh (dash), cat, wc, sha256sum but no tar.
func noTarImage(t testing.TB) localExec { return toolImage(t, coreTools()) }

// noSHAImage has tar but no sha256sum.
func noSHAImage(t testing.TB) localExec {
	m := coreTools("tar")
	delete(m, "sha256sum")
	return toolImage(t, m)
}

// emptyImage has nothing, not even sh.
func emptyImage(t testing.TB) localExec { return localExec{path: t.TempDir()} }

type imageCase struct {
	name string
	ex   func(testing.TB) localExec
}

var images = []imageCase{
	{"gnu", gnuImage},
	{"busybox", busyboxImage},
}

// Helpers.

func writeFile(t testing.TB, p string, data []byte, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// randomBytes is deterministic pseudo-random data.
func randomBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	h := sha256.Sum256([]byte{seed})
	for i := 0; i < n; i += len(h) {
		copy(b[i:], h[:])
		h = sha256.Sum256(h[:])
	}
	return b
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// snapshot describes a tree: type, exec bit, content hash or link target of
// every entry, by slash path relative to root.
func snapshot(t testing.TB, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			m[rel] = "link " + target
		case fi.IsDir():
			m[rel] = "dir"
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			m[rel] = fmt.Sprintf("file x=%v %s", fi.Mode()&0o100 != 0, sha(data))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// listAll lists every path under root (to prove nothing else was written).
func listAll(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && p != root {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

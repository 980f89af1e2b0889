package transfer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestDownloadFile(t *testing.T) {
	data := randomBytes(2<<20+5, 7)
	tests := []struct {
		name     string
		image    func(testing.TB) localExec
		compress bool
		verified string
	}{
		{"gnu", gnuImage, false, VerifiedSHA256},
		{"gnu gzip", gnuImage, true, VerifiedSHA256},
		{"busybox", busyboxImage, false, VerifiedSHA256},
		{"busybox gzip", busyboxImage, true, VerifiedSHA256},
		{"no tar: cat", noTarImage, false, VerifiedSHA256},
		{"no sha256sum", noSHAImage, false, VerifiedBytes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			src := filepath.Join(tmp, "container", `db "dump" $(x).sql`)
			writeFile(t, src, data, 0o640)
			dst := filepath.Join(tmp, "local", "out", "dump.sql")
			writeFile(t, dst, []byte("an older file, replaced"), 0o644)
			var bar bytes.Buffer
			res, err := Download(context.Background(), tt.image(t), RemotePath(src), LocalPath(dst), Options{Compress: tt.compress, Progress: &bar, Label: "dump"})
			if err != nil {
				t.Fatalf("Download: %v", err)
			}
			got, err := os.ReadFile(dst)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Errorf("downloaded %d bytes, differing from the %d in the container", len(got), len(data))
			}
			want := Result{Bytes: int64(len(data)), Files: 1, SHA256: sha(data), Verified: tt.verified, Compressed: tt.compress}
			if diff := cmp.Diff(*res, want); diff != "" {
				t.Errorf("result (-got +want):\n%s", diff)
			}
			if diff := cmp.Diff(listAll(t, filepath.Join(tmp, "local")), []string{"out", filepath.Join("out", "dump.sql")}); diff != "" {
				t.Errorf("local files (-got +want):\n%s", diff)
			}
			if !bytes.Contains(bar.Bytes(), []byte("dump")) {
				t.Errorf("no progress bar written: %q", bar.String())
			}
		})
	}
}

func TestDownloadIntoDirectory(t *testing.T) {
	tmp := t.TempDir()
	writeFile(t, filepath.Join(tmp, "c", "r.txt"), []byte("result"), 0o644)
	if _, err := Download(context.Background(), gnuImage(t), RemotePath(filepath.Join(tmp, "c", "r.txt")), LocalPath(filepath.Join(tmp, "l")+"/"), Options{}); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(tmp, "l", "r.txt")); err != nil || string(got) != "result" {
		t.Errorf("l/r.txt = %q, %v", got, err)
	}
}

// A remote that dies mid-stream, with an error or with a clean EOF: the
// download fails and nothing at all is left at or beside the destination.
func TestDownloadDiesMidStream(t *testing.T) {
	for _, img := range []imageCase{{"gnu", gnuImage}, {"busybox", busyboxImage}, {"cat", noTarImage}} {
		for _, compress := range []bool{false, true} {
			for _, clean := range []bool{false, true} {
				for _, cut := range []int64{0, 10, 700, 64 << 10, 1 << 20} {
					t.Run(fmt.Sprintf("%s/gzip=%v/clean=%v/cut=%d", img.name, compress, clean, cut), func(t *testing.T) {
						tmp := t.TempDir()
						src := filepath.Join(tmp, "container", "big.bin")
						writeFile(t, src, randomBytes(3<<20, 8), 0o644)
						local := filepath.Join(tmp, "local")
						image := img.ex(t)
						tools, err := Probe(context.Background(), image)
						if err != nil {
							t.Fatal(err)
						}
						ex := dyingExec{inner: image, n: cut, clean: clean}
						_, err = Download(context.Background(), ex, RemotePath(src), LocalPath(filepath.Join(local, "big.bin")), Options{Compress: compress, Tools: tools})
						if err == nil {
							t.Fatal("Download succeeded on a stream cut short")
						}
						var ve *VerifyError
						if !errors.As(err, &ve) {
							t.Errorf("Download = %v, want a *VerifyError", err)
						}
						if left := listAll(t, local); len(left) != 0 {
							t.Errorf("left behind: %q", left)
						}
					})
				}
			}
		}
	}
}

func TestDownloadDirDies(t *testing.T) {
	tmp := t.TempDir()
	src := filepath.Join(tmp, "container", "tree")
	makeTree(t, src)
	local := filepath.Join(tmp, "local")
	tools, err := Probe(context.Background(), gnuImage(t))
	if err != nil {
		t.Fatal(err)
	}
	ex := dyingExec{inner: gnuImage(t), n: 2 << 20}
	if _, err := Download(context.Background(), ex, RemotePath(src), LocalPath(filepath.Join(local, "tree")), Options{Tools: tools}); err == nil {
		t.Fatal("Download succeeded on a stream cut short")
	}
	if left := listAll(t, local); len(left) != 0 {
		t.Errorf("left behind: %q", left)
	}
}

func TestDownloadCorrupted(t *testing.T) {
	for _, img := range []imageCase{{"gnu", gnuImage}, {"busybox", busyboxImage}, {"cat", noTarImage}} {
		for _, compress := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/gzip=%v", img.name, compress), func(t *testing.T) {
				tmp := t.TempDir()
				src := filepath.Join(tmp, "container", "f")
				writeFile(t, src, randomBytes(300<<10, 9), 0o644)
				dst := filepath.Join(tmp, "local", "f")
				ex := corruptingExec{inner: img.ex(t), at: 100 << 10}
				_, err := Download(context.Background(), ex, RemotePath(src), LocalPath(dst), Options{Compress: compress})
				var ve *VerifyError
				if !errors.As(err, &ve) {
					t.Fatalf("Download = %v, want a *VerifyError", err)
				}
				if _, err := os.Lstat(dst); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("a file exists at the destination after a failed download: %v", err)
				}
			})
		}
	}
}

func TestDownloadErrors(t *testing.T) {
	tmp := t.TempDir()
	writeFile(t, filepath.Join(tmp, "c", "dir", "f"), []byte("x"), 0o644)
	writeFile(t, filepath.Join(tmp, "l", "full", "other"), []byte("y"), 0o644)
	tests := []struct {
		name  string
		image localExec
		src   string
		dst   string
		check func(error) bool
	}{
		{"missing", gnuImage(t), "c/nope", "l/nope", func(err error) bool { return errors.Is(err, fs.ErrNotExist) }},
		{"missing parent", gnuImage(t), "c/no/such", "l/nope", func(err error) bool { return errors.Is(err, fs.ErrNotExist) }},
		{"missing via cat", noTarImage(t), "c/nope", "l/nope", func(err error) bool { return errors.Is(err, fs.ErrNotExist) }},
		{"dir over non-empty dir", gnuImage(t), "c/dir", "l/full", func(err error) bool { return errors.Is(err, ErrExists) }},
		{"dir without tar", noTarImage(t), "c/dir", "l/d", func(err error) bool {
			var me *MissingToolError
			return errors.As(err, &me) && me.Missing[0] == "tar"
		}},
		{"no sh", emptyImage(t), "c/dir/f", "l/f", func(err error) bool {
			var me *MissingToolError
			return errors.As(err, &me) && me.Missing[0] == "sh"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := listAll(t, filepath.Join(tmp, "l"))
			_, err := Download(context.Background(), tt.image, RemotePath(filepath.Join(tmp, tt.src)), LocalPath(filepath.Join(tmp, tt.dst)), Options{})
			if err == nil || !tt.check(err) {
				t.Errorf("Download = %v", err)
			}
			if diff := cmp.Diff(listAll(t, filepath.Join(tmp, "l")), before); diff != "" {
				t.Errorf("local files changed (-got +want):\n%s", diff)
			}
		})
	}
}

// A hostile image whose tar emits a malicious archive: the download fails
// naming the entry, and nothing is written anywhere.
func TestDownloadHostileTar(t *testing.T) {
	tests := []struct {
		name    string
		entries func(tmp string) []tarEntry
		bad     string
	}{
		{"dotdot", func(string) []tarEntry { return []tarEntry{file("./out/ok", "x"), file("./out/../../escaped", "x")} }, "./out/../../escaped"},
		{"absolute", func(tmp string) []tarEntry { return []tarEntry{file(tmp+"/escaped", "x")} }, "/escaped"},
		{"symlink then file through it", func(tmp string) []tarEntry {
			return []tarEntry{dir("./out/"), symlink("./out/l", tmp), file("./out/l/escaped", "x")}
		}, "./out/l"},
		{"two-symlink chain", func(string) []tarEntry {
			return []tarEntry{dir("./out/"), symlink("./out/a", "."), symlink("./out/b", "a/.."), file("./out/b/escaped", "x")}
		}, "./out/b"},
		{"hardlink outside", func(tmp string) []tarEntry { return []tarEntry{dir("./out/"), hardlink("./out/h", tmp+"/secret")} }, "./out/h"},
		{"device", func(string) []tarEntry {
			return []tarEntry{dir("./out/"), {hdr: tar.Header{Name: "./out/dev", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}}}
		}, "./out/dev"},
		{"wrong prefix", func(string) []tarEntry { return []tarEntry{dir("./outx/"), file("./outx/f", "x")} }, "./outx/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			writeFile(t, filepath.Join(tmp, "secret"), []byte("secret"), 0o600)
			archive := filepath.Join(tmp, "evil.tar")
			entries := tt.entries(tmp)
			bad := tt.bad
			if bad == "/escaped" {
				bad = tmp + bad
			}
			if err := os.WriteFile(archive, buildTar(t, entries), 0o644); err != nil {
				t.Fatal(err)
			}
			// The image's tar ignores its arguments and emits the archive.
			bin := filepath.Join(tmp, "bin")
			writeFile(t, filepath.Join(bin, "tar"), []byte("#!/bin/sh\nexec /bin/cat "+archive+"\n"), 0o755)
			image := toolImage(t, coreTools())
			image.path = bin + ":" + image.path
			writeFile(t, filepath.Join(tmp, "container", "out", "f"), []byte("x"), 0o644)
			local := filepath.Join(tmp, "local")
			if err := os.Mkdir(local, 0o755); err != nil {
				t.Fatal(err)
			}
			_, err := Download(context.Background(), image, RemotePath(filepath.Join(tmp, "container", "out")), LocalPath(filepath.Join(local, "out")), Options{})
			var ue *UnsafeEntryError
			if !errors.As(err, &ue) {
				t.Fatalf("Download = %v, want an *UnsafeEntryError", err)
			}
			if ue.Entry != bad {
				t.Errorf("error names %q, want %q (%v)", ue.Entry, bad, err)
			}
			if left := listAll(t, local); len(left) != 0 {
				t.Errorf("left behind: %q", left)
			}
			if _, err := os.Lstat(filepath.Join(tmp, "escaped")); err == nil {
				t.Errorf("a file was written outside the destination")
			}
		})
	}
}

// A download of a name that is a symlink to a file brings the file, with
// the image's tar, with cat and with the agent; the agent follows a symlink
// to a directory too (symlinks inside it stay symlinks).
func TestDownloadNamedSymlink(t *testing.T) {
	data := randomBytes(300_000, 9)
	cases := []struct {
		name  string
		ex    func(testing.TB) localExec
		agent bool
	}{
		{"gnu", gnuImage, false},
		{"busybox", busyboxImage, false},
		{"no tar: cat", noTarImage, false},
		{"agent", busyboxImage, true},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			ctr := filepath.Join(tmp, "container")
			writeFile(t, filepath.Join(ctr, "dumps", "2026-11-25.sql"), data, 0o644)
			if err := os.Symlink(filepath.Join(ctr, "dumps", "2026-11-25.sql"), filepath.Join(ctr, "latest.sql")); err != nil {
				t.Fatal(err)
			}
			ex := tt.ex(t)
			opts := Options{}
			if tt.agent {
				opts = agentOpts(t, probed(t, ex))
			}
			dst := filepath.Join(tmp, "local", "latest.sql")
			res, err := Download(context.Background(), ex, RemotePath(filepath.Join(ctr, "latest.sql")), LocalPath(dst), opts)
			if err != nil {
				t.Fatalf("Download: %v", err)
			}
			got, err := os.ReadFile(dst)
			if err != nil || !bytes.Equal(got, data) || res.SHA256 != sha(data) || res.Agent != tt.agent {
				t.Errorf("downloaded %d bytes (%v), result %+v; want the %d bytes the link points to", len(got), err, res, len(data))
			}
			if fi, err := os.Lstat(dst); err != nil || !fi.Mode().IsRegular() {
				t.Errorf("local copy: %v, %v; want a regular file", fi, err)
			}
			if !tt.agent {
				return
			}
			if err := os.Symlink(filepath.Join(ctr, "dumps"), filepath.Join(ctr, "current")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("2026-11-25.sql", filepath.Join(ctr, "dumps", "today.sql")); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(tmp, "local", "current")
			if _, err := Download(context.Background(), ex, RemotePath(filepath.Join(ctr, "current")), LocalPath(dir), opts); err != nil {
				t.Fatalf("Download of a symlinked directory: %v", err)
			}
			if got, err := os.ReadFile(filepath.Join(dir, "2026-11-25.sql")); err != nil || !bytes.Equal(got, data) {
				t.Errorf("the directory's file: %d bytes, %v", len(got), err)
			}
			if l, err := os.Readlink(filepath.Join(dir, "today.sql")); err != nil || l != "2026-11-25.sql" {
				t.Errorf("the symlink inside: %q, %v; want it kept as a symlink", l, err)
			}
		})
	}
}

// cannedExec is a hostile container's whole side of a transfer: whatever
// the command, it writes out and exits.
func cannedExec(out []byte) Executor {
	return execFunc(func(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
		_, err := stdout.Write(out)
		return err
	})
}

// canned is a download's output: the archive, then a report of the files,
// each name with the sha256 of body.
func canned(t *testing.T, entries []tarEntry, report [][2]string) []byte {
	var b bytes.Buffer
	b.Write(buildTar(t, entries))
	b.WriteString(reportMarker + "\x00tar\t0\x00")
	for _, f := range report {
		fmt.Fprintf(&b, "F\t%d\t%s\t%s\x00", len(f[1]), sha([]byte(f[1])), f[0])
	}
	b.WriteString("end\x00")
	return b.Bytes()
}

var scriptTools = &Tools{Sh: true, Tar: true, SHA256Sum: true, Cat: true, Wc: true, Mkdir: true}

// A container whose archive and report both name one file twice (d/./a and
// d/a): two files of the report "arrive", one is on disk. The download must
// not be reported verified.
func TestDownloadAliasedNamesAreNotVerified(t *testing.T) {
	tests := []struct {
		name    string
		entries []tarEntry
		report  [][2]string
	}{
		{"dot component", []tarEntry{dir("./out/"), file("./out/./a", "X"), file("./out/a", "Y")},
			[][2]string{{"./out/./a", "X"}, {"./out/a", "Y"}}},
		{"double slash", []tarEntry{dir("./out/"), file("./out//a", "X"), file("./out/a", "Y")},
			[][2]string{{"./out//a", "X"}, {"./out/a", "Y"}}},
		{"case", []tarEntry{dir("./out/"), file("./out/README", "X"), file("./out/readme", "Y")},
			[][2]string{{"./out/README", "X"}, {"./out/readme", "Y"}}},
		{"report only", []tarEntry{dir("./out/"), file("./out/a", "Y")},
			[][2]string{{"./out/./a", "Y"}, {"./out/a", "Y"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			local := filepath.Join(t.TempDir(), "local")
			tools := *scriptTools
			res, err := Download(context.Background(), cannedExec(canned(t, tt.entries, tt.report)), "/c/out", LocalPath(local), Options{Tools: &tools})
			if err == nil {
				t.Fatalf("Download verified %+v, with one file on disk", res)
			}
			if _, serr := os.Stat(local); serr == nil {
				t.Errorf("the destination was created (%v)", err)
			}
		})
	}
}

// The temporary directory's name keeps the start of the destination's name:
// never cut inside a UTF-8 character (an invalid name on macOS and Windows).
func TestShortenAtRuneBoundary(t *testing.T) {
	for pad := range 8 {
		for _, r := range []string{"é", "✓", "😀"} {
			s := strings.Repeat("a", 56+pad) + strings.Repeat(r, 10)
			got := shorten(s)
			if !utf8.ValidString(got) || !strings.HasPrefix(s, got) || len(got) > 60 || len(got) < 57 {
				t.Errorf("shorten(%q) = %q", s, got)
			}
		}
	}
	if got := shorten("short ✓"); got != "short ✓" {
		t.Errorf("shorten of a short name = %q", got)
	}
	// A name that is not UTF-8 at all is cut at 60 bytes.
	if got := shorten(strings.Repeat("\xff", 100)); len(got) != 60 {
		t.Errorf("shorten of bytes that are not UTF-8: %d bytes", len(got))
	}
}

package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// tricky names: long (>100 bytes), unicode, spaces, quotes, shell syntax,
// leading dash and dots, newline. (A backslash goes up but not back down:
// TestBackslashNameGoesUpNotDown.)
var trickyNames = []string{
	strings.Repeat("long-name-", 12) + ".txt",
	strings.Repeat("d", 90) + "/" + strings.Repeat("e", 90) + "/deep file.txt",
	"héllo wörld ✓.txt",
	`it's "quoted" $(touch PWNED) ` + "`touch PWNED2`; x|y.txt",
	"-dash-leading",
	".hidden",
	"..dots",
	"line\nbreak.txt",
	"sub/deeper/nested.txt",
}

// makeTree builds a directory with every kind of entry a round trip must keep.
func makeTree(t testing.TB, root string) {
	t.Helper()
	for i, n := range trickyNames {
		writeFile(t, filepath.Join(root, n), []byte("content of "+n+strings.Repeat("!", i)), 0o644)
	}
	writeFile(t, filepath.Join(root, "empty.txt"), nil, 0o644)
	writeFile(t, filepath.Join(root, "big.bin"), randomBytes(3<<20+17, 1), 0o644)
	writeFile(t, filepath.Join(root, "run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755)
	if err := os.MkdirAll(filepath.Join(root, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/deeper/nested.txt", filepath.Join(root, "link-to-nested")); err != nil {
		t.Fatal(err)
	}
}

func TestUploadDownloadRoundTrip(t *testing.T) {
	for _, img := range images {
		for _, compress := range []bool{false, true} {
			t.Run(img.name+map[bool]string{false: "", true: "/gzip"}[compress], func(t *testing.T) {
				ex := img.ex(t)
				tmp := t.TempDir()
				src := filepath.Join(tmp, "local", "src tree")
				makeTree(t, src)
				remote := filepath.Join(tmp, "container", "work dir", "uploaded")
				ctx := context.Background()

				res, err := Upload(ctx, ex, LocalPath(src), RemotePath(remote), Options{Compress: compress})
				if err != nil {
					t.Fatalf("Upload: %v", err)
				}
				want := snapshot(t, src)
				if diff := cmp.Diff(snapshot(t, remote), want); diff != "" {
					t.Errorf("container tree (-got +want):\n%s", diff)
				}
				wantFiles := len(trickyNames) + 3
				if res.Files != wantFiles || res.Verified != VerifiedSHA256 || res.Compressed != compress {
					t.Errorf("upload result = %+v, want %d files, sha256, compressed %v", res, wantFiles, compress)
				}

				back := filepath.Join(tmp, "local", "back")
				dres, err := Download(ctx, ex, RemotePath(remote), LocalPath(back), Options{Compress: compress})
				if err != nil {
					t.Fatalf("Download: %v", err)
				}
				if diff := cmp.Diff(snapshot(t, back), want); diff != "" {
					t.Errorf("downloaded tree (-got +want):\n%s", diff)
				}
				if dres.Files != res.Files || dres.Bytes != res.Bytes || dres.Verified != VerifiedSHA256 {
					t.Errorf("download result = %+v, upload result = %+v", dres, res)
				}
				for _, marker := range []string{"PWNED", "PWNED2"} {
					for _, dir := range []string{tmp, filepath.Join(tmp, "container"), filepath.Join(tmp, "container", "work dir"), "."} {
						if _, err := os.Stat(filepath.Join(dir, marker)); err == nil {
							t.Errorf("a name was run as shell code: %s exists in %s", marker, dir)
						}
					}
				}
				if left := listAll(t, filepath.Join(tmp, "local")); len(left) != len(listAll(t, src))+len(listAll(t, back))+2 {
					t.Errorf("unexpected entries beside the download (temp left behind?): %q", left)
				}
			})
		}
	}
}

func TestUploadFile(t *testing.T) {
	data := randomBytes(1<<20+3, 2)
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
			src := filepath.Join(tmp, "dump.sql")
			writeFile(t, src, data, 0o640)
			dst := filepath.Join(tmp, "container", "new dir", `it's "$x".sql`)
			var bar bytes.Buffer
			res, err := Upload(context.Background(), tt.image(t), LocalPath(src), RemotePath(dst), Options{Compress: tt.compress, Progress: &bar, Label: "upload"})
			if err != nil {
				t.Fatalf("Upload: %v", err)
			}
			got, err := os.ReadFile(dst)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Errorf("the container file differs from the local one (%d vs %d bytes)", len(got), len(data))
			}
			want := Result{Bytes: int64(len(data)), Files: 1, SHA256: sha(data), Verified: tt.verified, Compressed: tt.compress && tt.name != "no tar: cat"}
			if diff := cmp.Diff(*res, want); diff != "" {
				t.Errorf("result (-got +want):\n%s", diff)
			}
			if !strings.Contains(bar.String(), "upload") {
				t.Errorf("no progress bar written: %q", bar.String())
			}
		})
	}
}

func TestUploadIntoDirectory(t *testing.T) {
	tmp := t.TempDir()
	src := filepath.Join(tmp, "a.txt")
	writeFile(t, src, []byte("hello"), 0o644)
	if err := os.MkdirAll(filepath.Join(tmp, "c"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Upload(context.Background(), gnuImage(t), LocalPath(src), RemotePath(filepath.Join(tmp, "c")+"/"), Options{}); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(tmp, "c", "a.txt")); err != nil || string(got) != "hello" {
		t.Errorf("c/a.txt = %q, %v", got, err)
	}
}

// The CRI bug: stdin cut after 32 KiB, exit status 0 or not. Every upload
// must fail with a *VerifyError, whatever the image and the path taken.
func TestUploadTruncatedStdin(t *testing.T) {
	tests := []struct {
		name  string
		image func(testing.TB) localExec
		dir   bool
	}{
		{"gnu file", gnuImage, false},
		{"gnu dir", gnuImage, true},
		{"busybox file", busyboxImage, false},
		{"busybox dir", busyboxImage, true},
		{"cat", noTarImage, false},
		{"no sha256sum", noSHAImage, false},
	}
	for _, tt := range tests {
		for _, cut := range []int64{0, 512, 32 << 10, 196608} {
			t.Run(fmt.Sprintf("%s/cut=%d", tt.name, cut), func(t *testing.T) {
				tmp := t.TempDir()
				src := filepath.Join(tmp, "src")
				if tt.dir {
					writeFile(t, filepath.Join(src, "a", "one"), randomBytes(100<<10, 3), 0o644)
					writeFile(t, filepath.Join(src, "two"), randomBytes(300<<10, 4), 0o644)
				} else {
					writeFile(t, src, randomBytes(1000000, 5), 0o644)
				}
				for i := range 4 {
					ex := truncatingExec{inner: tt.image(t), n: cut, discard: i%2 == 1}
					_, err := Upload(context.Background(), ex, LocalPath(src), RemotePath(filepath.Join(tmp, "dst")), Options{Compress: tt.dir})
					var ve *VerifyError
					if !errors.As(err, &ve) {
						t.Fatalf("Upload with stdin cut at %d = %v, want a *VerifyError", cut, err)
					}
				}
			})
		}
	}
}

// A byte flipped in transit inside file content: sizes match, sha256 not.
func TestUploadCorrupted(t *testing.T) {
	for _, img := range []imageCase{{"gnu", gnuImage}, {"busybox", busyboxImage}, {"cat", noTarImage}} {
		t.Run(img.name, func(t *testing.T) {
			tmp := t.TempDir()
			src := filepath.Join(tmp, "f")
			writeFile(t, src, randomBytes(200<<10, 6), 0o644)
			ex := corruptingExec{inner: img.ex(t), at: 100 << 10}
			_, err := Upload(context.Background(), ex, LocalPath(src), RemotePath(filepath.Join(tmp, "dst")), Options{})
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("Upload = %v, want a *VerifyError", err)
			}
			if ve.Path != "dst" || ve.WantSHA256 == ve.GotSHA256 || ve.WantBytes != 200<<10 {
				t.Errorf("VerifyError = %+v, want a sha256 mismatch on dst", ve)
			}
		})
	}
}

func TestUploadMissingTools(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "f")
	writeFile(t, file, []byte("x"), 0o644)
	dir := filepath.Join(tmp, "d")
	writeFile(t, filepath.Join(dir, "f"), []byte("x"), 0o644)
	tests := []struct {
		name  string
		image localExec
		src   string
		want  []string
	}{
		{"no sh", emptyImage(t), file, []string{"sh"}},
		{"dir without tar", noTarImage(t), dir, []string{"tar"}},
		{"file without tar or cat", toolImage(t, map[string]string{"sh": "dash", "wc": "wc"}), file, []string{"tar", "cat"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Upload(context.Background(), tt.image, LocalPath(tt.src), RemotePath(filepath.Join(tmp, "out")), Options{})
			var me *MissingToolError
			if !errors.As(err, &me) {
				t.Fatalf("Upload = %v, want a *MissingToolError", err)
			}
			if diff := cmp.Diff(me.Missing, tt.want); diff != "" {
				t.Errorf("missing (-got +want):\n%s", diff)
			}
		})
	}
}

func TestProbe(t *testing.T) {
	tests := []struct {
		name  string
		image localExec
		want  Tools
	}{
		{"gnu", gnuImage(t), Tools{Sh: true, Tar: true, SHA256Sum: true, Gzip: true, Cat: true, Wc: true, Tee: true, Mkdir: true, DevFD: true, Arch: runtime.GOARCH}},
		{"busybox", busyboxImage(t), Tools{Sh: true, Tar: true, SHA256Sum: true, Gzip: true, Cat: true, Wc: true, Tee: true, Mkdir: true, DevFD: true, Arch: runtime.GOARCH}},
		// No uname in the image: no arch, so never the agent.
		{"no tar", noTarImage(t), Tools{Sh: true, SHA256Sum: true, Gzip: true, Cat: true, Wc: true, Tee: true, Mkdir: true, DevFD: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Probe(context.Background(), tt.image)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(*got, tt.want, cmpopts.IgnoreUnexported(Tools{})); diff != "" {
				t.Errorf("tools (-got +want):\n%s", diff)
			}
		})
	}
	_, err := Probe(context.Background(), emptyImage(t))
	var me *MissingToolError
	if !errors.As(err, &me) || len(me.Missing) != 1 || me.Missing[0] != "sh" {
		t.Errorf("Probe without sh = %v, want a *MissingToolError naming sh", err)
	}
}

// Only the archive's end-of-archive blocks are lost: every file is complete
// in the container, and only the stdin count can tell.
func TestUploadLosesOnlyTheArchiveEnd(t *testing.T) {
	for _, img := range images {
		t.Run(img.name, func(t *testing.T) {
			tmp := t.TempDir()
			src := filepath.Join(tmp, "f")
			writeFile(t, src, randomBytes(1000000, 10), 0o644)
			stream := int64(512 + 1000448 + 1024) // header, padded content, two zero blocks
			ex := truncatingExec{inner: img.ex(t), n: stream - 1024, discard: true}
			_, err := Upload(context.Background(), ex, LocalPath(src), RemotePath(filepath.Join(tmp, "dst")), Options{})
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("Upload = %v, want a *VerifyError", err)
			}
			if ve.WantBytes != stream || ve.GotBytes != stream-1024 {
				t.Errorf("VerifyError = %v, want the stdin count %d of %d", err, stream-1024, stream)
			}
		})
	}
}

// meter is a Meter that keeps what it is told.
type meter struct {
	calls    int
	n, total int64
	done, ok bool
	after    bool // told something after done
}

func (m *meter) Write(p []byte) (int, error) { return 0, errors.New("a Meter is never written to") }

func (m *meter) Meter(n, total int64, done, ok bool) {
	if m.done {
		m.after = true
	}
	m.calls++
	m.n, m.total, m.done, m.ok = n, total, done, ok
}

// A Meter as Options.Progress is told the bytes instead of a bar being
// drawn: the web UI's transfer progress.
func TestUploadMeter(t *testing.T) {
	data := randomBytes(1<<20+3, 3)
	src := filepath.Join(t.TempDir(), "dump.sql")
	writeFile(t, src, data, 0o640)
	var m meter
	_, err := Upload(context.Background(), gnuImage(t), LocalPath(src), RemotePath(filepath.Join(t.TempDir(), "dump.sql")), Options{Progress: &m, Label: "upload"})
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if m.calls < 2 || !m.done || !m.ok || m.after || m.n != int64(len(data)) || m.total != int64(len(data)) {
		t.Errorf("meter: %+v, want at least a start and the end with %d of %d bytes", m, len(data), len(data))
	}
}

package transfer

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// A download larger than Options.MaxBytes stops with a *TooLargeError
// naming the limit and leaves nothing behind, with the image's tools, with
// gzip, with cat and with the agent; under the limit it goes through.
func TestDownloadLimit(t *testing.T) {
	cases := []struct {
		name     string
		ex       func(testing.TB) localExec
		compress bool
		agent    bool
	}{
		{"gnu", gnuImage, false, false},
		{"gnu gzip", gnuImage, true, false},
		{"busybox", busyboxImage, false, false},
		{"cat", noTarImage, false, false},
		{"agent", busyboxImage, false, true},
		{"agent s2", busyboxImage, true, true},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			src := filepath.Join(tmp, "container", "big.bin")
			writeFile(t, src, bytes.Repeat([]byte("0123456789abcdef"), 3<<16), 0o644) // 3 MiB, compresses well
			ex := tt.ex(t)
			opts := Options{Compress: tt.compress}
			if tt.agent {
				opts = agentOpts(t, probed(t, ex))
				opts.Compress = tt.compress
			}
			local := filepath.Join(tmp, "local")
			opts.MaxBytes = 1 << 20
			_, err := Download(context.Background(), ex, RemotePath(src), LocalPath(filepath.Join(local, "big.bin")), opts)
			var tl *TooLargeError
			if !errors.As(err, &tl) || tl.Limit != 1<<20 || !strings.Contains(err.Error(), "1 MiB") {
				t.Fatalf("Download = %v, want a *TooLargeError naming the limit of 1 MiB", err)
			}
			if left := listAll(t, local); len(left) != 0 {
				t.Errorf("left behind: %q", left)
			}
			opts.MaxBytes = 4 << 20
			if res, err := Download(context.Background(), ex, RemotePath(src), LocalPath(filepath.Join(local, "big.bin")), opts); err != nil || res.Bytes != 3<<20 {
				t.Errorf("under the limit: %+v, %v", res, err)
			}
		})
	}
}

// A gzip stream of a few hundred KB that expands to 200 MiB stops at the
// limit: the decompressed bytes are counted, not the bytes received.
func TestDownloadGzipBombStopsAtTheLimit(t *testing.T) {
	var z bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	tw := tar.NewWriter(gz)
	const size = 200 << 20
	if err := tw.WriteHeader(&tar.Header{Name: "./out", Typeflag: tar.TypeReg, Mode: 0o644, Size: size}); err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for range size / len(zeros) {
		tw.Write(zeros)
	}
	tw.Close()
	gz.Close()
	stream := append(z.Bytes(), reportMarker+"\x00tar\t0\x00F\t"+fmt.Sprint(size)+"\t-\t./out\x00end\x00"...)
	tools := *scriptTools
	tools.Gzip = true
	local := filepath.Join(t.TempDir(), "local")
	_, err := Download(context.Background(), cannedExec(stream), "/c/out", LocalPath(filepath.Join(local, "out")), Options{Tools: &tools, Compress: true, MaxBytes: 8 << 20})
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Limit != 8<<20 {
		t.Fatalf("Download = %v, want a *TooLargeError", err)
	}
	if left := listAll(t, local); len(left) != 0 {
		t.Errorf("left behind: %q", left)
	}
}

// cat's size line announces more than the limit: nothing is written.
func TestDownloadCatAnnouncesTooMuch(t *testing.T) {
	tools := *scriptTools
	tools.Tar = false
	stream := []byte(catMarker + "99999999999\nxyz")
	local := filepath.Join(t.TempDir(), "local")
	_, err := Download(context.Background(), cannedExec(stream), "/c/f", LocalPath(filepath.Join(local, "f")), Options{Tools: &tools, MaxBytes: 1 << 20})
	var tl *TooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("Download = %v, want a *TooLargeError", err)
	}
	if left := listAll(t, local); len(left) != 0 {
		t.Errorf("left behind: %q", left)
	}
}

// Extract (the Docker backend's downloads) has the same limit, and the
// default one when none is given.
func TestExtractLimit(t *testing.T) {
	archive := buildTar(t, []tarEntry{file("a", strings.Repeat("x", 5000))})
	_, err := Extract(bytes.NewReader(archive), LocalPath(t.TempDir()), ExtractOptions{MaxBytes: 4096})
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Limit != 4096 {
		t.Errorf("Extract = %v, want a *TooLargeError", err)
	}
	if _, err := Extract(bytes.NewReader(archive), LocalPath(t.TempDir()), ExtractOptions{MaxBytes: 1 << 20}); err != nil {
		t.Errorf("under the limit: %v", err)
	}
	if got := maxBytes(0); got != DefaultMaxDownload || DefaultMaxDownload != 10<<30 {
		t.Errorf("default limit %d", got)
	}
	if got := FormatBytes(10 << 30); got != "10 GiB" {
		t.Errorf("FormatBytes = %q", got)
	}
}

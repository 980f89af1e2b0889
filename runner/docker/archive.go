package docker

import (
	"archive/tar"
	"bytes"
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
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/cscript-dev/cscript/transfer"
)

// copyScript writes the script to .cscript/script in the working directory
// (where pod mode has it), read-only: the file (0444) and its directory
// (0555) are owned by nobody (65534), so that even root in the container,
// which has no capabilities (CAP_FOWNER, CAP_DAC_OVERRIDE), can neither
// write, replace nor remove it, nor make it writable. The working directory
// is created (mode 0777, so a non-root user of the image can work in it)
// when the image has none.
// scriptOwner owns the script in the container: nobody.
const scriptOwner = 65534

func (st *run) copyScript(ctx context.Context) error {
	wd := st.spec.workDir()
	rel := strings.TrimPrefix(wd, "/")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	if rel != "" {
		_, err := st.eng.ContainerStatPath(ctx, st.id, client.ContainerStatPathOptions{Path: wd})
		switch {
		case cerrdefs.IsNotFound(err):
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: rel + "/", Mode: 0o777, ModTime: now}); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("stat %s: %w", wd, err)
		}
	}
	dir := path.Join(rel, ScriptDir)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o555, Uid: scriptOwner, Gid: scriptOwner, ModTime: now}); err != nil {
		return err
	}
	name := path.Join(dir, ScriptName)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o444, Uid: scriptOwner, Gid: scriptOwner, Size: int64(len(st.spec.Body)), ModTime: now}); err != nil {
		return err
	}
	if _, err := io.WriteString(tw, st.spec.Body); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if _, err := st.eng.CopyToContainer(ctx, st.id, client.CopyToContainerOptions{DestinationPath: "/", Content: &buf}); err != nil {
		return err
	}
	return verifySize(ctx, st.eng, st.id, "/"+name, int64(len(st.spec.Body)))
}

func verifySize(ctx context.Context, eng Engine, id, p string, want int64) error {
	got, err := eng.ContainerStatPath(ctx, id, client.ContainerStatPathOptions{Path: p})
	if err != nil {
		return &transfer.VerifyError{Path: p, Reason: "missing in the container", WantBytes: want, GotBytes: -1, Err: err}
	}
	if got.Stat.Size != want {
		return &transfer.VerifyError{Path: p, Reason: "size differs", WantBytes: want, GotBytes: got.Stat.Size}
	}
	return nil
}

// upload copies the local file or directory src to the absolute path dst in
// the (created, not yet started) container through the archive API. A dst
// ending in "/" names a directory to copy into. Files arrive owned by root
// with at least mode 0644 (directories 0755), so a non-root user of the image
// can read them. Symlinks inside a directory are sent as symlinks; other
// special files are an error.
func upload(ctx context.Context, eng Engine, id string, src transfer.LocalPath, dst string) (*transfer.Result, error) {
	local := string(src)
	fi, err := os.Stat(local)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(dst, "/") {
		dst = path.Join(dst, filepath.Base(local))
	}
	dst = path.Clean(dst)
	rel := strings.TrimPrefix(dst, "/")
	if rel == "" || rel == "." {
		return nil, fmt.Errorf("cannot upload onto /")
	}

	res := &transfer.Result{}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := writeTar(pw, local, fi, rel, res)
		pw.CloseWithError(err)
		done <- err
	}()
	_, cerr := eng.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: "/", Content: pr})
	pr.CloseWithError(errors.New("upload ended")) // unblocks the writer if the engine stopped reading
	werr := <-done
	if werr != nil {
		return nil, werr
	}
	if cerr != nil {
		return nil, cerr
	}
	if fi.Mode().IsRegular() {
		if err := verifySize(ctx, eng, id, dst, res.Bytes); err != nil {
			return nil, err
		}
		res.Verified = transfer.VerifiedBytes
		return res, nil
	}
	st, err := eng.ContainerStatPath(ctx, id, client.ContainerStatPathOptions{Path: dst})
	if err != nil || !st.Stat.Mode.IsDir() {
		return nil, &transfer.VerifyError{Path: dst, Reason: "missing in the container", WantBytes: res.Bytes, GotBytes: -1, Err: err}
	}
	return res, nil
}

// writeTar writes local (a file or a directory) as the archive entry rel
// and, for a directory, everything under it, counting and hashing files.
func writeTar(w io.Writer, local string, fi fs.FileInfo, rel string, res *transfer.Result) error {
	tw := tar.NewWriter(w)
	if fi.Mode().IsRegular() {
		sum, err := writeFile(tw, local, fi, rel)
		if err != nil {
			return err
		}
		res.Bytes, res.Files, res.SHA256 = fi.Size(), 1, sum
		return tw.Close()
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a regular file or a directory", local)
	}
	err := filepath.WalkDir(local, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		sub, err := filepath.Rel(local, p)
		if err != nil {
			return err
		}
		name := rel
		if sub != "." {
			name = rel + "/" + filepath.ToSlash(sub)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case p == local || info.IsDir():
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: int64(info.Mode().Perm() | 0o755), ModTime: info.ModTime()})
		case info.Mode().IsRegular():
			sum, err := writeFile(tw, p, info, name)
			if err != nil {
				return err
			}
			res.Bytes += info.Size()
			res.Files++
			res.SHA256 = sum
			return nil
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: info.ModTime()})
		}
		return fmt.Errorf("%s is a special file (%s): not uploaded", p, info.Mode().Type())
	})
	if err != nil {
		return err
	}
	if res.Files != 1 {
		res.SHA256 = ""
	}
	return tw.Close()
}

func writeFile(tw *tar.Writer, p string, fi fs.FileInfo, name string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(fi.Mode().Perm() | 0o644), Size: fi.Size(), ModTime: fi.ModTime()}
	if err := tw.WriteHeader(hdr); err != nil {
		return "", err
	}
	h := sha256.New()
	n, err := io.Copy(tw, io.TeeReader(f, h))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", p, err)
	}
	if n != fi.Size() {
		return "", fmt.Errorf("%s changed size while it was sent (%d bytes, then %d)", p, fi.Size(), n)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// download copies the file or directory src out of the (stopped) container
// to dst with the transfer package's safe extraction. dst names the file or
// directory to create; a dst ending in a separator names a directory to copy
// into. Nothing appears at dst unless everything arrived: the archive is
// extracted into a temporary directory beside dst and renamed into place.
// A file replaces a file; a directory may replace only an empty directory
// (transfer.ErrExists otherwise). A missing src wraps fs.ErrNotExist. At
// most max bytes of archive are read (transfer.ExtractOptions.MaxBytes).
func download(ctx context.Context, eng Engine, id, src string, dst transfer.LocalPath, max int64) (*transfer.Result, error) {
	cp, err := eng.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: src})
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("%s in the container: %w", src, fs.ErrNotExist)
		}
		return nil, err
	}
	defer cp.Content.Close()
	base := cp.Stat.Name
	if base == "" || base == "." || base == "/" || strings.Contains(base, "/") {
		return nil, fmt.Errorf("the engine named the source %q", base)
	}
	final := string(dst)
	if strings.HasSuffix(final, string(filepath.Separator)) || strings.HasSuffix(final, "/") {
		final = filepath.Join(final, base)
	}
	final = filepath.Clean(final)
	parent := filepath.Dir(final)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(parent, ".cscript-download-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	res, err := transfer.Extract(cp.Content, transfer.LocalPath(tmp), transfer.ExtractOptions{Prefix: base, MaxBytes: max})
	if err != nil {
		return nil, err
	}
	got := filepath.Join(tmp, base)
	gi, err := os.Lstat(got)
	if err != nil {
		return nil, &transfer.VerifyError{Path: src, Reason: "missing in the archive", WantBytes: cp.Stat.Size, GotBytes: -1, Err: err}
	}
	if cp.Stat.Mode.IsRegular() {
		if !gi.Mode().IsRegular() || res.Files != 1 || res.Bytes != cp.Stat.Size {
			return nil, &transfer.VerifyError{Path: src, Reason: "size differs", WantBytes: cp.Stat.Size, GotBytes: res.Bytes}
		}
		res.Verified = transfer.VerifiedBytes
	} else if cp.Stat.Mode.IsDir() != gi.IsDir() {
		return nil, &transfer.VerifyError{Path: src, Reason: "the archive does not hold what the engine described", WantBytes: -1, GotBytes: res.Bytes}
	}

	if fi, err := os.Lstat(final); err == nil && fi.IsDir() {
		if !gi.IsDir() {
			return nil, fmt.Errorf("%s is a directory: %w", final, transfer.ErrExists)
		}
		if err := os.Remove(final); err != nil {
			return nil, fmt.Errorf("%s is not empty: %w", final, transfer.ErrExists)
		}
	}
	if err := os.Rename(got, final); err != nil {
		return nil, err
	}
	return res, nil
}

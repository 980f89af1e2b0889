package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/cscript-dev/cscript/transfer"
)

// copyEngine answers CopyFromContainer with an archive; nothing else.
type copyEngine struct {
	Engine
	archive []byte
	stat    container.PathStat
}

func (e copyEngine) CopyFromContainer(context.Context, string, client.CopyFromContainerOptions) (client.CopyFromContainerResult, error) {
	return client.CopyFromContainerResult{Content: io.NopCloser(bytes.NewReader(e.archive)), Stat: e.stat}, nil
}

// A Docker download has the limit of the Spec: past it, a
// *transfer.TooLargeError and nothing at the destination.
func TestDownloadLimit(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := bytes.Repeat([]byte("x"), 64<<10)
	tw.WriteHeader(&tar.Header{Name: "dump", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))})
	tw.Write(body)
	tw.Close()
	eng := copyEngine{archive: buf.Bytes(), stat: container.PathStat{Name: "dump", Size: int64(len(body)), Mode: 0o644}}
	local := filepath.Join(t.TempDir(), "local")
	_, err := download(context.Background(), eng, "c1", "/work/dump", transfer.LocalPath(filepath.Join(local, "dump")), 16<<10)
	var tl *transfer.TooLargeError
	if !errors.As(err, &tl) || tl.Limit != 16<<10 {
		t.Fatalf("download = %v, want a *transfer.TooLargeError", err)
	}
	if entries, _ := os.ReadDir(local); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
	if res, err := download(context.Background(), eng, "c1", "/work/dump", transfer.LocalPath(filepath.Join(local, "dump")), 1<<20); err != nil || res.Bytes != int64(len(body)) {
		t.Errorf("under the limit: %+v, %v", res, err)
	}
}

//go:build unix

package docker

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cscript-dev/cscript/transfer"
)

func TestWriteTarRefusesSpecialFiles(t *testing.T) {
	src := t.TempDir()
	fifo := filepath.Join(src, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(src)
	err := writeTar(io.Discard, src, fi, "work/x", &transfer.Result{})
	if err == nil || !strings.Contains(err.Error(), "special file") {
		t.Errorf("error %v, want a special file refused", err)
	}
}

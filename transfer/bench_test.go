package transfer

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

const benchSize = 64 << 20

func benchFile(b *testing.B, dir string, size int) string {
	b.Helper()
	p := filepath.Join(dir, "data.bin")
	writeFile(b, p, randomBytes(size, 11), 0o644)
	return p
}

func BenchmarkUpload(b *testing.B) {
	ex := gnuImage(b)
	tools, err := Probe(context.Background(), ex)
	if err != nil {
		b.Fatal(err)
	}
	tmp := b.TempDir()
	src := benchFile(b, tmp, benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		if _, err := Upload(context.Background(), ex, LocalPath(src), RemotePath(filepath.Join(tmp, "container", "data.bin")), Options{Tools: tools}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDownload(b *testing.B) {
	ex := gnuImage(b)
	tools, err := Probe(context.Background(), ex)
	if err != nil {
		b.Fatal(err)
	}
	tmp := b.TempDir()
	src := benchFile(b, tmp, benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		if _, err := Download(context.Background(), ex, RemotePath(src), LocalPath(filepath.Join(tmp, "local", "data.bin")), Options{Tools: tools}); err != nil {
			b.Fatal(err)
		}
	}
}

// Memory stays constant: moving 128 MiB each way (with progress and
// compression) never grows the heap past a small bound, sampled throughout.
func TestConstantMemory(t *testing.T) {
	const size = 128 << 20
	ex := gnuImage(t)
	tools, err := Probe(context.Background(), ex)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	src := filepath.Join(tmp, "big.bin")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	chunk := randomBytes(1<<20, 12)
	for range size / len(chunk) {
		if _, err := f.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	runtime.GC()

	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				metrics.Read(sample)
				peak = max(peak, sample[0].Value.Uint64())
			}
		}
	})
	opts := Options{Tools: tools, Progress: discardTTY{}, Compress: true}
	if _, err := Upload(context.Background(), ex, LocalPath(src), RemotePath(filepath.Join(tmp, "container", "big.bin")), opts); err != nil {
		t.Error(err)
	}
	if _, err := Download(context.Background(), ex, RemotePath(filepath.Join(tmp, "container", "big.bin")), LocalPath(filepath.Join(tmp, "back.bin")), opts); err != nil {
		t.Error(err)
	}
	close(stop)
	wg.Wait()
	const limit = 48 << 20
	t.Logf("peak live heap %.1f MiB while moving %d MiB each way", float64(peak)/(1<<20), size>>20)
	if peak > limit {
		t.Errorf("peak live heap %d bytes, want under %d", peak, limit)
	}
}

type discardTTY struct{}

func (discardTTY) Write(p []byte) (int, error) { return len(p), nil }

package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/streaming/pkg/httpstream"
	streamspdy "k8s.io/streaming/pkg/httpstream/spdy"
)

// Only a refused SPDY upgrade (nothing streamed yet, stdin untouched) sends
// an exec on to WebSocket; a stream that broke or a command that failed does
// not run twice.
func TestSPDYUpgradeFailed(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{errors.New("unable to upgrade connection: 400 Bad Request"), true},
		{fmt.Errorf("exec: %w", errors.New("unable to upgrade connection: container not found")), true},
		{&httpstream.UpgradeFailureError{Cause: errors.New("proxy said no")}, true},
		{errors.New("command terminated with exit code 3"), false},
		{errors.New("connection reset by peer"), false},
		{errors.New("error reading from error stream: EOF"), false},
	}
	for _, tt := range tests {
		if got := spdyUpgradeFailed(tt.err); got != tt.want {
			t.Errorf("spdyUpgradeFailed(%q) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// Stdin reaches the server in frames of up to maxStdinFrame, through
// client-go's own executor (which copies stdin with io.Copy): a server that
// speaks the exec protocol records the size of every frame it reads.
func TestExecSendsStdinInBigFrames(t *testing.T) {
	var mu sync.Mutex
	var frames []int
	var got bytes.Buffer
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if _, err := httpstream.Handshake(req, w, []string{"v4.channel.k8s.io"}); err != nil {
			return
		}
		streams := make(chan httpstream.Stream, 4)
		conn := streamspdy.NewResponseUpgrader().UpgradeResponse(w, req, func(s httpstream.Stream, _ <-chan struct{}) error {
			streams <- s
			return nil
		})
		if conn == nil {
			return
		}
		defer conn.Close()
		byType := map[string]httpstream.Stream{}
		for len(byType) < 3 { // error, stdin, stdout
			s := <-streams
			byType[s.Headers().Get(corev1.StreamType)] = s
		}
		buf := make([]byte, 4*maxStdinFrame)
		for {
			n, err := byType[corev1.StreamTypeStdin].Read(buf)
			if n > 0 {
				mu.Lock()
				frames = append(frames, n)
				got.Write(buf[:n])
				mu.Unlock()
			}
			if err != nil {
				break
			}
		}
		_, _ = byType[corev1.StreamTypeStdout].Write([]byte("done"))
		_ = byType[corev1.StreamTypeStdout].Close()
		_ = byType[corev1.StreamTypeError].Close()
	}))
	defer srv.Close()

	cfg := &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ex := &PodExecutor{Client: cs, Config: cfg, Namespace: "ns", Pod: "pod", Container: "c"}
	data := make([]byte, 5*maxStdinFrame+123)
	for i := range data {
		data[i] = byte(i * 7)
	}
	var out bytes.Buffer
	if err := ex.Exec(context.Background(), []string{"cat"}, bytes.NewReader(data), &out, nil); err != nil {
		t.Fatalf("Exec: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if out.String() != "done" || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("stdout %q, server read %d bytes (equal %v); want \"done\" and the %d bytes sent", out.String(), got.Len(), bytes.Equal(got.Bytes(), data), len(data))
	}
	if slices.Max(frames) != maxStdinFrame || len(frames) > 10 {
		t.Errorf("stdin frames %v: want frames of up to %d bytes", frames, maxStdinFrame)
	}
}

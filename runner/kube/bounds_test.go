package kube

import (
	"bytes"
	"context"
	"github.com/cscript-dev/cscript/runner"
	"io"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// floodExec is a container whose commands print without end on stdout and
// stderr: it writes until a write fails (or 64 MiB) and counts what was
// taken.
type floodExec struct {
	mu      sync.Mutex
	written int64
}

func (f *floodExec) Exec(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	chunk := bytes.Repeat([]byte("flood "), 1<<16) // 384 KiB
	for range (64 << 20) / len(chunk) {
		n, err := stdout.Write(chunk)
		f.mu.Lock()
		f.written += int64(n)
		f.mu.Unlock()
		if err != nil {
			return err
		}
		if _, err := stderr.Write(chunk); err != nil {
			return err
		}
	}
	return nil
}

// What cscript reads from the container's commands (besides the script's
// own output, which streams through) is bounded: a command that prints
// without end is stopped with an error that says so.
func TestContainerOutputIsBounded(t *testing.T) {
	t.Run("credentials from the container's env", func(t *testing.T) {
		f := &floodExec{}
		_, err := containerEnv(context.Background(), f, []string{"A", "B"})
		if err == nil || !strings.Contains(err.Error(), "more than") {
			t.Errorf("containerEnv = %v, want an error saying the answer is too large", err)
		}
		if f.written > 4<<20 {
			t.Errorf("read %d bytes of its answer", f.written)
		}
	})
	t.Run("setup", func(t *testing.T) {
		f := &floodExec{}
		st := &run{exec: f, spec: runner.Spec{Interpreter: runner.InterpreterSh, Body: "echo hi\n"}}
		err := st.setup(context.Background())
		if err == nil || !strings.Contains(err.Error(), "more than") {
			t.Errorf("setup = %v, want an error saying the output is too large", err)
		}
		if f.written > 1<<20 {
			t.Errorf("read %d bytes of its output", f.written)
		}
	})
	t.Run("memory events", func(t *testing.T) {
		f := &floodExec{}
		cs := fake.NewSimpleClientset(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}})
		st := &run{exec: f, r: &Runner{Client: cs, Namespace: "ns"}, pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}}
		if st.refineKill(context.Background(), &runner.ScriptError{Code: 137}) {
			t.Error("a flood was taken for an OOM kill")
		}
		if f.written > 1<<20 {
			t.Errorf("read %d bytes of its output", f.written)
		}
	})
	t.Run("setup failure on stderr", func(t *testing.T) {
		m := &markerFilter{w: io.Discard, marker: []byte(setupMarker)}
		m.Write([]byte(setupMarker + "missing\n"))
		for range 100 {
			m.Write(bytes.Repeat([]byte("x"), 1<<20))
		}
		if n := len(m.report()); n > 64<<10 {
			t.Errorf("kept %d bytes of a setup failure", n)
		}
		if !strings.HasPrefix(m.report(), setupMarker+"missing") {
			t.Errorf("the report lost its start: %.40q", m.report())
		}
	})
}

package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cscript-dev/cscript/runner"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/cscript-dev/cscript/transfer"
)

// refused is what client-go returns while the API server is down.
var refused = &url.Error{Op: "Delete", URL: "https://127.0.0.1:6443/api/v1/namespaces/team-a/pods/x",
	Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}

func TestLostConnection(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{refused, true},
		{errors.New("error reading from error stream: next reader: websocket: close 1006 (abnormal closure): unexpected EOF"), true},
		{fmt.Errorf("download x: %w", &transfer.VerifyError{Reason: "stream", WantBytes: -1, GotBytes: -1, Err: io.ErrUnexpectedEOF}), true},
		{errors.New("read tcp 127.0.0.1:1->127.0.0.1:6443: read: connection reset by peer"), true},
		{errors.New("http2: client connection lost"), true},
		{&transfer.VerifyError{Path: "f", Reason: "size differs", WantBytes: 10, GotBytes: 5}, false},
		{apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "x"), false},
		{apierrors.NewInternalError(errors.New("etcd")), false},
		{errors.New("command terminated with exit code 3"), false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := lostConnection(tt.err); got != tt.want {
			t.Errorf("lostConnection(%v) = %t, want %t", tt.err, got, tt.want)
		}
	}
}

func TestErrorMessagesDoNotRepeatTheOperation(t *testing.T) {
	inner := errors.New("download /work/big.bin: verify stream: the stream from the container is incomplete")
	tests := []struct {
		err  error
		want string
	}{
		{&runner.RunError{Op: "download /work/big.bin", Err: inner}, "download /work/big.bin: verify stream: the stream from the container is incomplete"},
		{&runner.RunError{Op: "upload /tmp/a", Err: errors.New("upload /tmp/a to /work/a: verify: size differs")}, "upload /tmp/a: verify: size differs"},
		{&runner.RunError{Op: "start", Err: errors.New("watch: gone")}, "start: watch: gone"},
		{orLost("download /work/big.bin", fmt.Errorf("%w: websocket: close 1006 (abnormal closure)", inner)),
			"lost the connection to the container through the API server during download /work/big.bin (the API server, the kubelet or the network between them went away): verify stream: the stream from the container is incomplete: websocket: close 1006 (abnormal closure)"},
		{orLost("preflight", fmt.Errorf("check permission to create pods: %w", &url.Error{Op: "Post", URL: "https://10.0.0.1:6443/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
			Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}})),
			`cannot reach the API server at https://10.0.0.1:6443 during preflight: check permission to create pods: Post "https://10.0.0.1:6443/apis/authorization.k8s.io/v1/selfsubjectaccessreviews": dial tcp: connection refused`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("message\n got %q\nwant %q", got, tt.want)
		}
	}
}

// A download whose stream breaks is a *ConnectionLostError (exit 125) that
// says so; what the run created is deleted.
func TestRunDownloadLostConnection(t *testing.T) {
	h := newHarness(t)
	h.queue(running)
	h.files.hook = func(ctx context.Context, what string) error {
		if what == "download" {
			return fmt.Errorf("download /work/out: %w", &transfer.VerifyError{Reason: "the stream from the container is incomplete or corrupt", WantBytes: -1, GotBytes: -1,
				Err: errors.New("error reading from error stream: next reader: websocket: close 1006 (abnormal closure): unexpected EOF")})
		}
		return nil
	}
	spec := minimalSpec()
	spec.Downloads = []runner.FileCopy{{Remote: "/work/out", Local: "/tmp/out"}}
	res, err := h.run(spec)
	var lost *ConnectionLostError
	if !errors.As(err, &lost) || res.ExitCode != 125 || res.Phase != PhaseDownload {
		t.Fatalf("err = %v (exit %d, phase %s), want *ConnectionLostError, 125, download", err, res.ExitCode, res.Phase)
	}
	if !strings.HasPrefix(err.Error(), "lost the connection to the container through the API server during download /work/out ") {
		t.Errorf("message %q", err)
	}
	h.assertCleanedUp()
}

// Cleanup repeats its deletes while the API server does not answer.
func TestRunCleanupOutlastsAnAPIServerRestart(t *testing.T) {
	h := newHarness(t)
	h.queue(running)
	var mu sync.Mutex
	fails := map[string]int{}
	for _, res := range []string{"pods", "secrets"} {
		h.cs.PrependReactor("delete", res, func(a k8stesting.Action) (bool, runtime.Object, error) {
			mu.Lock()
			defer mu.Unlock()
			if fails[res] < 3 {
				fails[res]++
				return true, nil, refused
			}
			return false, nil, nil
		})
	}
	spec := fullSpec()
	spec.Exclusive = false
	spec.Uploads, spec.Downloads = nil, nil
	start := time.Now()
	if _, err := h.run(spec); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if fails["pods"] != 3 || fails["secrets"] != 3 {
		t.Errorf("failed deletes: %v, want 3 of each before they went through", fails)
	}
	t.Logf("cleanup took %s", time.Since(start).Round(time.Millisecond))
	h.assertCleanedUp()
}

// When cleanup cannot delete the Pod, a failed run's error says so and
// keeps its type and exit code.
func TestRunCleanupFailureIsReported(t *testing.T) {
	h := newHarness(t)
	h.runner.CleanupTimeout = 300 * time.Millisecond
	h.queue(running)
	h.cs.PrependReactor("delete", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, refused
	})
	h.exec.script = func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
		return utilexec.CodeExitError{Err: errors.New("exit 3"), Code: 3}
	}
	res, err := h.run(minimalSpec())
	var se *runner.ScriptError
	if !errors.As(err, &se) || res.ExitCode != 3 {
		t.Fatalf("err = %v (exit %d), want the script's error, 3", err, res.ExitCode)
	}
	if !strings.Contains(err.Error(), "script exited with code 3; cleanup failed too, remove what is left with `cscript gc`: delete pod "+testPod) {
		t.Errorf("message %q does not report the cleanup failure", err)
	}
	if res.CleanupErr == nil {
		t.Error("Result.CleanupErr is nil")
	}
}

func TestTrailerFilter(t *testing.T) {
	tests := []struct {
		name, in, out string
		code          int
	}{
		{"exit 0", "warn\n" + exitTrailer + "0\n", "warn\n", 0},
		{"exit 3, no newline before", "partial" + exitTrailer + "3\n", "partial", 3},
		{"no trailer", "the stream just ends\n", "the stream just ends\n", -1},
		{"empty", "", "", -1},
		{"record separators of the script's own", "a\x1eb\x1ecscript-exi\n" + exitTrailer + "42\n", "a\x1eb\x1ecscript-exi\n", 42},
		{"output after the trailer (a background process)", exitTrailer + "0\nlate\n", "late\n", 0},
		{"a trailer without a number is text", exitTrailer + "x\n", exitTrailer + "x\n", -1},
		{"cut off inside the trailer", "out\n" + exitTrailer[:5], "out\n" + exitTrailer[:5], -1},
	}
	for _, tt := range tests {
		// Every way of splitting the stream into two writes gives the same.
		for cut := 0; cut <= len(tt.in); cut++ {
			var out strings.Builder
			f := &trailerFilter{w: &out}
			_, _ = f.Write([]byte(tt.in[:cut]))
			_, _ = f.Write([]byte(tt.in[cut:]))
			_ = f.Flush()
			if out.String() != tt.out || f.code != tt.code {
				t.Errorf("%s, cut at %d: output %q, code %d; want %q, %d", tt.name, cut, out.String(), f.code, tt.out, tt.code)
			}
		}
	}
}

// An exec stream that ends without an error but without the script's exit
// status (a kubelet restart closes it so) is not a success.
func TestRunScriptStreamEndsWithoutStatus(t *testing.T) {
	for _, combined := range []bool{true, false} {
		h := newHarness(t)
		h.queue(running)
		spec := minimalSpec()
		if !combined {
			spec.Uploads = []runner.FileCopy{{Local: "/tmp/in", Remote: "/work/in"}}
		}
		h.exec.script = func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
			fmt.Fprintln(stdout, "started")
			return errCutOff
		}
		res, err := h.run(spec)
		var lost *ConnectionLostError
		if !errors.As(err, &lost) || res.ExitCode != 125 || res.Phase != PhaseScript {
			t.Fatalf("combined %t: err = %v (exit %d, phase %s), want *ConnectionLostError, 125, script", combined, err, res.ExitCode, res.Phase)
		}
		if h.stdout.String() != "started\n" || h.stderr.String() != "" {
			t.Errorf("output %q / %q", h.stdout.String(), h.stderr.String())
		}
		h.assertCleanedUp()
	}
}

// errCutOff makes fakeReportExit write no trailer and the fake exec return
// nil: a stream closed cleanly before the script ended.
var errCutOff = errors.New("cut off")

// A script that prints the value of a Secret ref shows it masked: the runner
// reads the Secret (or, when it may not, the container's env) before the
// script runs, and tells the caller through OnSecrets.
func TestRunRedactsSecretRefValues(t *testing.T) {
	for _, readable := range []bool{true, false} {
		h := newHarness(t)
		h.queue(running)
		const value = "ref-VALUE-42"
		if readable {
			if _, err := h.cs.CoreV1().Secrets(testNS).Create(context.Background(), &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: "db"},
				Data:       map[string][]byte{"password": []byte(value)},
			}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		} else {
			h.cs.PrependReactor("get", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "db", errors.New("RBAC"))
			})
		}
		h.exec.env = map[string]string{"PGPASSWORD": value}
		var told []string
		h.runner.OnSecrets = func(v []string) { told = append(told, v...) }
		h.exec.script = func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
			fmt.Fprintf(stdout, "password=%s\n", value)
			fmt.Fprintf(stderr, "also %s\n", value)
			return nil
		}
		spec := minimalSpec()
		spec.Credentials = []runner.Credential{{Name: "PGPASSWORD", SecretRef: &runner.SecretKeyRef{Name: "db", Key: "password"}}}
		if _, err := h.run(spec); err != nil {
			t.Fatalf("readable %t: Run: %v", readable, err)
		}
		if h.stdout.String() != "password=***\n" || h.stderr.String() != "also ***\n" {
			t.Errorf("readable %t: output %q / %q", readable, h.stdout.String(), h.stderr.String())
		}
		if len(told) != 1 || told[0] != value {
			t.Errorf("readable %t: OnSecrets got %q", readable, told)
		}
		h.assertCleanedUp()
	}
}

package runner

import (
	"context"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/streaming/pkg/httpstream"
)

// Executor runs a command in the run's container. It is the same shape as
// transfer.Executor. A non-zero exit is returned as an error that carries
// ExitStatus() (client-go's exec.CodeExitError).
type Executor interface {
	Exec(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// PodExecutor execs in one container of one Pod through the API server, the
// way kubectl exec does: WebSocket first, SPDY when the upgrade fails.
type PodExecutor struct {
	Client    kubernetes.Interface
	Config    *rest.Config
	Namespace string
	Pod       string
	Container string
}

var _ Executor = (*PodExecutor)(nil)

// Exec runs cmd without a TTY.
func (e *PodExecutor) Exec(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	req := e.Client.CoreV1().RESTClient().Post().
		Resource("pods").Namespace(e.Namespace).Name(e.Pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: e.Container,
			Command:   cmd,
			Stdin:     stdin != nil,
			Stdout:    stdout != nil,
			Stderr:    stderr != nil,
		}, scheme.ParameterCodec)
	u := req.URL()

	spdy, err := remotecommand.NewSPDYExecutor(e.Config, "POST", u)
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	ws, err := remotecommand.NewWebSocketExecutor(e.Config, "GET", u.String())
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	ex, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	return ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr})
}

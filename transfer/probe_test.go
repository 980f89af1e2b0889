package transfer

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// An exec that fails for another reason than a missing sh (the connection
// broke) is not reported as an image without sh.
func TestProbeExecFailureIsNotAMissingShell(t *testing.T) {
	broken := execFunc(func(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
		return errors.New(`error sending request: Post "https://node:10250/exec/ns/pod/c": read tcp 127.0.0.1:1->127.0.0.1:10250: read: connection reset by peer`)
	})
	_, err := Probe(context.Background(), broken)
	var me *MissingToolError
	var re *RemoteError
	if errors.As(err, &me) || !errors.As(err, &re) || !strings.Contains(err.Error(), "connection reset by peer") {
		t.Errorf("Probe = %v, want a *RemoteError with the exec's failure", err)
	}
}

type execFunc func(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error

func (f execFunc) Exec(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return f(ctx, cmd, stdin, stdout, stderr)
}

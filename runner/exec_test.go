package runner

import (
	"errors"
	"fmt"
	"testing"

	"k8s.io/streaming/pkg/httpstream"
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

package kube

import (
	"context"
	"errors"
	"io"
	"net/url"
	"strings"
	"syscall"

	"github.com/cscript-dev/cscript/runner"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/cscript-dev/cscript/internal/fail"
)

// ConnectionLostError is an exec stream or an API call that broke because
// the API server, the kubelet or the network between them went away (on the
// test cluster: the API server or the kubelet restarted). What the run had
// not finished did not happen; a download left nothing at its destination.
type ConnectionLostError struct {
	Op  string // what was being done, e.g. "download /work/dump.sql.gz"
	Err error
}

func (e *ConnectionLostError) Error() string {
	if fail.KindOf(e.Err) == fail.Unavailable {
		// Never connected: nothing was lost, the API server is not there.
		return "cannot reach the API server" + apiServerAt(e.Err) + " during " + e.Op + ": " + runner.TrimOp(e.Err.Error(), e.Op)
	}
	return "lost the connection to the container through the API server during " + e.Op +
		" (the API server, the kubelet or the network between them went away): " + runner.TrimOp(e.Err.Error(), e.Op)
}

// apiServerAt is " at SCHEME://HOST" of the request err failed, or "".
func apiServerAt(err error) string {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return ""
	}
	u, perr := url.Parse(ue.URL)
	if perr != nil || u.Host == "" {
		return ""
	}
	return " at " + u.Scheme + "://" + u.Host
}

func (e *ConnectionLostError) Unwrap() error { return e.Err }

// Kind is fail.Unavailable when the API server could not be reached at
// all, else fail.RunFailed (125): cscript failed around the script. `run`
// reports either as 125.
func (e *ConnectionLostError) Kind() fail.Kind {
	if fail.KindOf(e.Err) == fail.Unavailable {
		return fail.Unavailable
	}
	return fail.RunFailed
}

// lostConnection says whether err is a stream or a request that broke, as
// opposed to an answer (an API error, a non-zero exit, a verification that
// found different bytes).
func lostConnection(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	s := err.Error()
	for _, m := range []string{
		"websocket: close 1006", // abnormal closure: the other end vanished
		"unexpected EOF",
		"connection reset by peer",
		"connection refused",
		"broken pipe",
		"http2: client connection lost",
		"use of closed network connection",
		"error reading from error stream",
		"no route to host",
	} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// orLost returns err as a *ConnectionLostError when it is a lost connection,
// else as a *RunError.
func orLost(op string, err error) error {
	if lostConnection(err) {
		return &ConnectionLostError{Op: op, Err: err}
	}
	return &runner.RunError{Op: op, Err: err}
}

// retryTransient calls f until it succeeds, fails with an answer that will
// not change by asking again, or ctx ends (runner.Retry with the API
// server's transient errors).
func retryTransient(ctx context.Context, f func(context.Context) error) error {
	return runner.Retry(ctx, transient, f)
}

// transient says whether a failed request may succeed if repeated.
func transient(err error) bool {
	switch {
	case apierrors.IsNotFound(err), apierrors.IsForbidden(err), apierrors.IsUnauthorized(err),
		apierrors.IsInvalid(err), apierrors.IsBadRequest(err), apierrors.IsMethodNotSupported(err),
		apierrors.IsNotAcceptable(err), apierrors.IsUnsupportedMediaType(err), apierrors.IsConflict(err),
		apierrors.IsGone(err), apierrors.IsAlreadyExists(err):
		return false
	}
	return !errors.Is(err, context.Canceled)
}

// LostConnection says whether err is a request or stream that broke (the
// API server, the kubelet or the network went away), not an answer.
func LostConnection(err error) bool { return lostConnection(err) }

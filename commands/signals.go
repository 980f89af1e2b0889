package commands

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/cscript-dev/cscript/runner"
)

// HandleSignals returns a context cancelled by the first SIGINT, SIGTERM or
// SIGHUP (its cause is runner.SignalCause(sig), so the exit code can be 128+N),
// and a channel closed by a second one: the user insists, and cleanup deletes
// with grace period 0. stop releases the signals.
func HandleSignals(parent context.Context) (ctx context.Context, force <-chan struct{}, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	forced := make(chan struct{})
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			cancel(runner.SignalCause(sig))
		case <-done:
			return
		}
		select {
		case <-sigs:
			close(forced)
		case <-done:
		}
	}()
	return ctx, forced, func() {
		signal.Stop(sigs)
		close(done)
		cancel(nil)
	}
}

//go:build !js && !wasip1

package slogotlp

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// NotifyShutdown is the lifecycle for a service or a command-line tool: the
// returned context ends when the process receives SIGINT or SIGTERM, so the
// program can stop its work, and the returned function, deferred in main,
// flushes and shuts h down within timeout and stops catching the signals.
// Together they make the records logged just before exit reach the receiver.
//
//	ctx, shutdown := h.NotifyShutdown(5 * time.Second)
//	defer shutdown()
//	run(ctx)
//
// A second signal after the first ends the process the default way.
func (h *Handler) NotifyShutdown(timeout time.Duration) (context.Context, func() error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop) // restore default handling for a second signal
	return ctx, func() error {
		defer stop()
		sctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return h.Shutdown(sctx)
	}
}

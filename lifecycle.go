//go:build !js && !wasip1

package slogotlp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// NotifyShutdown is the lifecycle for a service or a command-line tool. The
// returned context ends when the process receives SIGINT or SIGTERM; the
// returned function, deferred in main, flushes and shuts h down within
// timeout, stops catching the signals, and returns Shutdown's error (which
// OnError, by default stderr, has heard too).
//
//	ctx, shutdown := h.NotifyShutdown(5 * time.Second)
//	defer shutdown()
//	run(ctx)
//
// The signal keeps its meaning whether or not the program watches ctx:
//
//   - A program that watches ctx (calls its Done or Err method, directly or
//     by deriving a context from it) is told and shuts down its own way;
//     the deferred function then delivers what is queued.
//   - A program that never looks at ctx (an http.ListenAndServe that runs
//     until killed) still exits on the first signal, as it would without
//     NotifyShutdown: the records queued are delivered within timeout,
//     Shutdown's error, if any, is written to stderr, and the process exits
//     with the conventional status 128+signal (130 for SIGINT, 143 for
//     SIGTERM). Deferred functions do not run, as with the default action.
//
// A signal that comes before the program first looks at ctx counts as
// unwatched. A second signal ends the process the default way.
func (h *Handler) NotifyShutdown(timeout time.Duration) (context.Context, func() error) {
	return h.notifyShutdown(timeout, os.Stderr, os.Exit)
}

func (h *Handler) notifyShutdown(timeout time.Duration, stderr io.Writer, exit func(int)) (context.Context, func() error) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	base, cancel := context.WithCancelCause(context.Background())
	ctx := &watchedContext{Context: base}
	shutdown := func() error {
		sctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return h.Shutdown(sctx)
	}
	quit := make(chan struct{})
	var once sync.Once
	stop := func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(quit)
			cancel(errors.New("slogotlp: the handler is shut down"))
		})
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case sig := <-sigs:
			// A second signal now acts the default way.
			signal.Stop(sigs)
			cancel(fmt.Errorf("slogotlp: received %v", sig))
			if ctx.watched.Load() {
				return
			}
			if err := shutdown(); err != nil {
				_, _ = fmt.Fprintln(stderr, err)
			}
			exit(128 + signalNumber(sig))
		case <-quit:
		}
	})
	return ctx, func() error {
		defer wg.Wait()
		defer stop()
		return shutdown()
	}
}

// watchedContext records whether the program looked at the context, so that
// NotifyShutdown knows whether a signal would reach anyone. Deriving a
// context, select on Done and polling Err all count.
type watchedContext struct {
	context.Context
	watched atomic.Bool
}

func (c *watchedContext) Done() <-chan struct{} {
	c.watched.Store(true)
	return c.Context.Done()
}

func (c *watchedContext) Err() error {
	c.watched.Store(true)
	return c.Context.Err()
}

// signalNumber is sig's number, for the exit status.
func signalNumber(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return int(s)
	}
	return int(syscall.SIGTERM)
}

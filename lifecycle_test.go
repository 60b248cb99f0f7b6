//go:build !js && !wasip1 && !windows

package slogotlp

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeExit records the status NotifyShutdown would exit with.
type fakeExit struct {
	mu     sync.Mutex
	status []int
}

func (f *fakeExit) exit(code int) {
	f.mu.Lock()
	f.status = append(f.status, code)
	f.mu.Unlock()
}

func (f *fakeExit) got() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.status...)
}

// TestNotifyShutdownUnwatched: a program that never looks at the context
// is shut down and exited with 128+signal on the first signal, its records
// delivered first; Shutdown's error goes to stderr.
func TestNotifyShutdownUnwatched(t *testing.T) {
	h, exp := newTestHandler(t, &HandlerOptions{DropReportInterval: -1})
	var stderr strings.Builder
	fe := &fakeExit{}
	ctx, shutdown := h.notifyShutdown(5*time.Second, &stderr, fe.exit)
	slog.New(h).Info("before the signal")

	require.NoError(t, syscall.Kill(syscall.Getpid(), syscall.SIGTERM))
	require.Eventually(t, func() bool { return len(fe.got()) == 1 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, []int{128 + int(syscall.SIGTERM)}, fe.got())
	assert.Equal(t, 1, exp.count(t), "the queued record was delivered before the exit")
	assert.Empty(t, stderr.String(), "nothing was lost, so nothing to say")
	assert.ErrorIs(t, h.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelInfo, "late", 0)), ErrShutdown)
	assert.Error(t, ctx.Err(), "the context ended too") // (looked at only now)
	require.NoError(t, shutdown())
}

// TestNotifyShutdownWatched: a program that watches the context is told
// and left to shut down its own way; nothing exits for it.
func TestNotifyShutdownWatched(t *testing.T) {
	h, exp := newTestHandler(t, &HandlerOptions{DropReportInterval: -1})
	fe := &fakeExit{}
	ctx, shutdown := h.notifyShutdown(5*time.Second, &strings.Builder{}, fe.exit)
	work, stop := context.WithCancel(ctx) // deriving a context is watching
	defer stop()
	slog.New(h).Info("before the signal")

	require.NoError(t, syscall.Kill(syscall.Getpid(), syscall.SIGINT))
	<-work.Done()
	assert.ErrorContains(t, context.Cause(ctx), "received interrupt")
	slog.New(h).Info("while shutting down its own way")
	require.NoError(t, shutdown())
	assert.Empty(t, fe.got(), "a program that watches the context is not exited")
	assert.Equal(t, 2, exp.count(t))
}

// TestNotifyShutdownReportsLoss: when records are lost, the unwatched path
// says so on stderr before exiting, since nobody else will.
func TestNotifyShutdownReportsLoss(t *testing.T) {
	exp := &scriptExporter{}
	exp.next = []Result{{Outcome: ExportFatal, Err: assert.AnError}}
	h := NewHandler(exp, &HandlerOptions{DropReportInterval: -1, OnError: func(error) {}})
	var stderr strings.Builder
	fe := &fakeExit{}
	_, shutdown := h.notifyShutdown(5*time.Second, &stderr, fe.exit)
	slog.New(h).Error("lost")
	require.NoError(t, syscall.Kill(syscall.Getpid(), syscall.SIGTERM))
	require.Eventually(t, func() bool { return len(fe.got()) == 1 }, 10*time.Second, time.Millisecond)
	assert.Contains(t, stderr.String(), "slogotlp: 1 of 1 records dropped (fatal 1): "+assert.AnError.Error())
	var de *DeliveryError
	require.ErrorAs(t, shutdown(), &de)
}

func TestWatchedContext(t *testing.T) {
	for name, look := range map[string]func(context.Context){
		"Done":    func(ctx context.Context) { _ = ctx.Done() },
		"Err":     func(ctx context.Context) { _ = ctx.Err() },
		"derived": func(ctx context.Context) { _, cancel := context.WithTimeout(ctx, time.Hour); cancel() },
	} {
		c := &watchedContext{Context: context.Background()}
		_ = c.Value("key") // what a logger does with it: not watching
		assert.False(t, c.watched.Load(), name)
		look(c)
		assert.True(t, c.watched.Load(), name)
	}
	assert.Equal(t, 15, signalNumber(syscall.SIGTERM))
	assert.Equal(t, 15, signalNumber(otherSignal{}), "a signal of unknown number exits as SIGTERM would")
}

type otherSignal struct{}

func (otherSignal) String() string { return "other" }
func (otherSignal) Signal()        {}

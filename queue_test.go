package slogotlp

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// protoRecords counts the log records in an uncompressed protobuf
// ExportLogsServiceRequest.
func protoRecords(p []byte) int {
	n := 0
	for rl, rest, ok := nextField(p); ok; rl, rest, ok = nextField(rest) {
		for sl, r2, ok := nextField(rl.data); ok; sl, r2, ok = nextField(r2) {
			if sl.tag != tagScopeLogs {
				continue
			}
			for lr, r3, ok := nextField(sl.data); ok; lr, r3, ok = nextField(r3) {
				if lr.tag == tagLogRecord {
					n++
				}
			}
		}
	}
	return n
}

// TestBackpressureLosesNothing: 200k records logged in a tight loop against
// a receiver that takes a millisecond per request lose nothing under
// OverflowBlock, and the queue never holds more than MaxQueueSize.
func TestBackpressureLosesNothing(t *testing.T) {
	const total, queue = 200_000, 4096
	var received, requests atomic.Int64
	var peak atomic.Uint64
	var h *Handler
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		received.Add(int64(protoRecords(body)))
		requests.Add(1)
		if q := h.Stats().Queued; q > peak.Load() {
			peak.Store(q)
		}
		time.Sleep(time.Millisecond) // a slow receiver
	})
	exp, err := NewHTTPExporter(srv.URL, &HTTPExporterOptions{Format: FormatProtobuf, DisableGzip: true})
	require.NoError(t, err)
	h = NewHandler(exp, &HandlerOptions{Overflow: OverflowBlock, BlockTimeout: time.Minute,
		MaxQueueSize: queue, BatchSize: queue / 2, DropReportInterval: -1})
	// Handle directly with one record: under -race the logger's own work
	// would dominate the run.
	ctx, r := context.Background(), slog.NewRecord(time.Now(), slog.LevelInfo, "m", 0)
	r.AddAttrs(slog.Int("i", 1))
	for range total {
		if err := h.Handle(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	require.NoError(t, shutdownWithin(t, h))
	s := h.Stats()
	checkStats(t, s)
	assert.Equal(t, uint64(total), s.Exported)
	assert.Zero(t, s.Dropped.Total())
	assert.Equal(t, int64(total), received.Load())
	// Queued counts the queue and the batches in flight.
	inflight := h.c.b.opts.ConcurrentExports * queue / 2
	assert.LessOrEqual(t, peak.Load(), uint64(queue+inflight), "memory is bounded by the queue")
	assert.Greater(t, requests.Load(), int64(total/queue), "the receiver set the pace")
}

// heldExporter blocks every export until released or its context ends.
type heldExporter struct {
	release chan struct{}
	calls   atomic.Int32
}

func (s *heldExporter) Export(ctx context.Context, _ []byte, _ int) Result {
	s.calls.Add(1)
	select {
	case <-s.release:
		return Result{}
	case <-ctx.Done():
		return Result{Outcome: ExportRetryable, Err: ctx.Err()}
	}
}

func (*heldExporter) Shutdown(context.Context) error { return nil }

// blockedHandler returns a handler under OverflowBlock whose queue of two
// records is full and whose one export is stuck.
func blockedHandler(t *testing.T, opts HandlerOptions) (*Handler, *heldExporter) {
	t.Helper()
	exp := &heldExporter{release: make(chan struct{})}
	opts.Overflow, opts.MaxQueueSize, opts.BatchSize, opts.DropReportInterval = OverflowBlock, 2, 1, -1
	opts.ConcurrentExports = 1
	opts.ShutdownTimeout = 100 * time.Millisecond
	if opts.OnError == nil {
		opts.OnError = func(error) {}
	}
	h := NewHandler(exp, &opts)
	l := slog.New(h)
	l.Info("taken by the stuck export")
	require.Eventually(t, func() bool { return exp.calls.Load() == 1 }, 10*time.Second, time.Millisecond)
	l.Info("queued 1")
	l.Info("queued 2")
	require.Equal(t, uint64(3), h.Stats().Queued)
	return h, exp
}

// handleAsync logs one record on a goroutine of its own and returns its
// result channel.
func handleAsync(h *Handler, msg string) <-chan error {
	done := make(chan error, 1)
	go func() { done <- h.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelInfo, msg, 0)) }()
	return done
}

func waitingForRoom(h *Handler) bool {
	h.c.b.mu.Lock()
	defer h.c.b.mu.Unlock()
	return h.c.b.waiters > 0
}

// TestBlockWaitsForRoom: a Handle call waits while the queue is full and
// goes through as soon as the export takes a batch.
func TestBlockWaitsForRoom(t *testing.T) {
	h, exp := blockedHandler(t, HandlerOptions{BlockTimeout: time.Hour})
	done := handleAsync(h, "waits")
	require.Eventually(t, func() bool { return waitingForRoom(h) }, 10*time.Second, time.Millisecond)
	close(exp.release)
	require.NoError(t, <-done)
	require.NoError(t, shutdownWithin(t, h))
	s := h.Stats()
	assert.Equal(t, uint64(4), s.Exported)
	checkStats(t, s)
}

// TestBlockTimeoutThenDrops: past BlockTimeout the record is dropped and
// counted, and later calls do not wait again until room is made.
func TestBlockTimeoutThenDrops(t *testing.T) {
	h, exp := blockedHandler(t, HandlerOptions{BlockTimeout: 20 * time.Millisecond})
	// OverflowDrop's rule then applies: the oldest INFO makes room.
	require.NoError(t, <-handleAsync(h, "gives up waiting"))
	assert.Equal(t, uint64(1), h.Stats().Dropped.QueueFull)
	h.c.b.mu.Lock()
	assert.True(t, h.c.b.stalled)
	h.c.b.mu.Unlock()
	// Stalled: no wait at all now (a waiting call would never return: the
	// timeout is for the first only, and nothing frees room).
	h.c.b.opts.BlockTimeout = time.Hour
	require.NoError(t, <-handleAsync(h, "no wait"))
	dbg := slog.NewRecord(time.Now(), slog.LevelDebug, "outranked", 0)
	assert.ErrorIs(t, h.Handle(context.Background(), dbg), ErrQueueFull, "nothing of lower rank to drop")
	assert.Equal(t, uint64(3), h.Stats().Dropped.QueueFull)
	close(exp.release)
	require.Eventually(t, func() bool {
		h.c.b.mu.Lock()
		defer h.c.b.mu.Unlock()
		return !h.c.b.stalled
	}, 10*time.Second, time.Millisecond, "room made: calls wait again")
	var de *DeliveryError
	require.ErrorAs(t, shutdownWithin(t, h), &de)
	assert.Equal(t, uint64(3), de.Dropped.QueueFull)
	checkStats(t, h.Stats())
}

// TestBlockNeverWaitsWhenExportStops: switching export off, a fatal error
// and Shutdown each end the waits at once, and no call waits afterwards.
func TestBlockNeverWaitsWhenExportStops(t *testing.T) {
	for name, tc := range map[string]struct {
		stop func(*Handler)
		want error
	}{
		"SetEnabled(false)": {func(h *Handler) { h.SetEnabled(false) }, ErrPaused},
		"fatal error":       {func(h *Handler) { h.c.b.disable(assert.AnError) }, ErrExportFailed},
		"Shutdown":          {func(h *Handler) { go func() { _ = h.Shutdown(context.Background()) }() }, ErrShutdown},
	} {
		t.Run(name, func(t *testing.T) {
			h, exp := blockedHandler(t, HandlerOptions{BlockTimeout: time.Hour})
			done := handleAsync(h, "waits")
			require.Eventually(t, func() bool { return waitingForRoom(h) }, 10*time.Second, time.Millisecond)
			tc.stop(h)
			assert.ErrorIs(t, <-done, tc.want)
			assert.ErrorIs(t, <-handleAsync(h, "after"), tc.want, "refused at once, no wait")
			close(exp.release)
			_ = shutdownWithin(t, h)
			checkStats(t, h.Stats())
		})
	}
}

// TestBlockFromOwnGoroutines: an exporter or an OnError that logs through
// the handler never waits for room it would have to make itself.
func TestBlockFromOwnGoroutines(t *testing.T) {
	var h *Handler
	var inside atomic.Int32
	logging := exporterFunc(func(context.Context, []byte, int) Result {
		// Fill the queue from the exporter's own goroutine.
		for range 5 {
			_ = h.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelInfo, "from the exporter", 0))
		}
		inside.Add(1)
		return Result{Outcome: ExportRejected, Err: assert.AnError}
	})
	var onError sync.WaitGroup
	onError.Add(1)
	var once sync.Once
	h = NewHandler(logging, &HandlerOptions{Overflow: OverflowBlock, BlockTimeout: time.Hour, MaxQueueSize: 2, BatchSize: 2,
		DropReportInterval: -1, OnError: func(error) {
			for range 5 {
				_ = h.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelInfo, "from OnError", 0))
			}
			once.Do(onError.Done)
		}})
	slog.New(h).Error("start")
	onError.Wait() // returned: OnError did not wait on itself
	require.Eventually(t, func() bool { return inside.Load() > 0 }, 10*time.Second, time.Millisecond)
	var de *DeliveryError
	require.ErrorAs(t, shutdownWithin(t, h), &de)
	s := h.Stats()
	assert.Positive(t, s.Dropped.QueueFull, "their records followed OverflowDrop")
	checkStats(t, s)
}

// TestBlockAfterShutdown: Handle after Shutdown returns at once.
func TestBlockAfterShutdown(t *testing.T) {
	h := NewHandler(discardExporter{}, &HandlerOptions{Overflow: OverflowBlock, BlockTimeout: time.Hour})
	require.NoError(t, h.Shutdown(context.Background()))
	assert.ErrorIs(t, <-handleAsync(h, "late"), ErrShutdown)
}

// TestBlockWakesExportForBytes: a queue full by bytes but short of
// BatchSize is sent at once when a call waits, not at the next timer.
func TestBlockWakesExportForBytes(t *testing.T) {
	h, exp := newTestHandler(t, &HandlerOptions{Overflow: OverflowBlock, BlockTimeout: time.Hour,
		MaxQueueBytes: 3 * initialBufferSize, DropReportInterval: -1})
	l := slog.New(h)
	for range 10 {
		l.Info("m")
	}
	flush(t, h)
	assert.Equal(t, 10, exp.count(t))
	assert.Zero(t, h.Stats().Dropped.Total())
}

func TestOverflowString(t *testing.T) {
	assert.Equal(t, "drop", OverflowDrop.String())
	assert.Equal(t, "block", OverflowBlock.String())
}

func TestGoid(t *testing.T) {
	a := goid()
	assert.Positive(t, a)
	assert.Equal(t, a, goid(), "stable within a goroutine")
	other := make(chan uint64)
	go func() { other <- goid() }()
	assert.NotEqual(t, a, <-other)
}

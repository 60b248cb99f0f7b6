package slogotlp

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeSleep records the delays the batcher asks for and returns at once.
type fakeSleep struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (f *fakeSleep) sleep(d time.Duration, abort <-chan struct{}) bool {
	f.mu.Lock()
	f.delays = append(f.delays, d)
	f.mu.Unlock()
	select {
	case <-abort:
		return false
	default:
		return true
	}
}

func (f *fakeSleep) got() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.delays...)
}

// scriptExporter answers each Export with the next scripted result (Success
// once the script runs out) and records how many records each call carried.
type scriptExporter struct {
	captureExporter
	sizes []int
}

func (s *scriptExporter) Export(ctx context.Context, p []byte, n int) Result {
	s.mu.Lock()
	s.sizes = append(s.sizes, n)
	s.mu.Unlock()
	return s.captureExporter.Export(ctx, p, n)
}

func newScripted(t *testing.T, opts *HandlerOptions, script ...Result) (*Handler, *scriptExporter, *fakeSleep) {
	t.Helper()
	exp := &scriptExporter{}
	exp.next = script
	fs := &fakeSleep{}
	h := newHandler(exp, opts, func(b *batcher) {
		b.sleep = fs.sleep
		b.jitter = func() float64 { return 0.5 }
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
		checkStats(t, h.Stats())
	})
	return h, exp, fs
}

func logN(l *slog.Logger, level slog.Level, n int) {
	for i := range n {
		l.Log(context.Background(), level, "m", "i", i)
	}
}

func TestTimerTrigger(t *testing.T) {
	h, exp := newTestHandler(t, &HandlerOptions{FlushInterval: 20 * time.Millisecond})
	slog.New(h).Info("tick")
	assert.Eventually(t, func() bool { return exp.count(t) == 1 }, 5*time.Second, 5*time.Millisecond)
}

func TestSizeTrigger(t *testing.T) {
	h, exp := newTestHandler(t, &HandlerOptions{BatchSize: 10, FlushInterval: time.Hour})
	logN(slog.New(h), slog.LevelInfo, 9)
	// Nine is below the batch size and the timer is an hour away: nothing
	// wakes the worker until the tenth, so the ten leave as one batch.
	logN(slog.New(h), slog.LevelInfo, 1)
	assert.Eventually(t, func() bool { return exp.count(t) == 10 }, 5*time.Second, 5*time.Millisecond)
	assert.Len(t, exp.texts(), 1, "one batch")
}

func TestSeverityTrigger(t *testing.T) {
	h, exp := newTestHandler(t, nil)
	l := slog.New(h)
	l.Info("before")
	l.Error("boom")
	assert.Eventually(t, func() bool { return exp.count(t) == 2 }, 5*time.Second, 5*time.Millisecond,
		"an ERROR exports at once, with what was queued before it")
}

func TestNoExportWithoutTrigger(t *testing.T) {
	h, exp := newTestHandler(t, &HandlerOptions{FlushInterval: time.Hour})
	logN(slog.New(h), slog.LevelInfo, 5)
	// Five INFOs are below the batch size and the timer is an hour away:
	// nothing may wake the worker, so the records are still queued however
	// long this check takes to run.
	assert.Empty(t, exp.texts())
	assert.Equal(t, uint64(5), h.Stats().Queued)
}

func TestOverflowOrder(t *testing.T) {
	exp := newGateExporter()
	h := startHandler(t, exp, &HandlerOptions{Level: slog.LevelDebug, MaxQueueSize: 4, BatchSize: 4, DropReportInterval: -1,
		ConcurrentExports: 1})
	l := slog.New(h.WithScope("s", ""))
	// The worker takes E0 and waits at the gate, so the queue below changes
	// only by what is logged.
	l.Error("E0")
	exp.waitEntered(t)
	l.Debug("D1")
	l.Info("I1")
	l.Debug("D2")
	l.Info("I2") // full: D1 I1 D2 I2
	l.Info("I3") // evicts D1 (oldest of the lowest class)
	l.Warn("W1") // evicts D2
	l.Info("I4") // evicts I1 (oldest INFO/WARN)
	assert.ErrorIs(t, h.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelDebug, "D3", 0)), ErrQueueFull,
		"a DEBUG record is not let in by evicting an INFO")
	// ERRORs evict everything below them, then each other (oldest first).
	for _, m := range []string{"E1", "E2", "E3", "E4", "E5"} {
		l.Error(m)
	}
	exp.openGate()
	flush(t, h)
	var got []string
	for _, r := range exp.records(t) {
		got = append(got, r["body"].(map[string]any)["stringValue"].(string))
	}
	assert.Equal(t, []string{"E0", "E2", "E3", "E4", "E5"}, got, "the newest ERRORs fit in a queue of four")
	s := h.Stats()
	assert.Equal(t, uint64(9), s.Dropped.QueueFull)
	assert.Equal(t, s.Dropped.QueueFull+s.Exported, s.Handled)
}

func TestOverflowOrderExact(t *testing.T) {
	// Drive the queue directly, without the worker, for exact eviction order.
	b := newBatcher(discardExporter{}, (&HandlerOptions{MaxQueueSize: 3, BatchSize: 100}).withDefaults(), nil, &scopeRegistry{})
	push := func(l slog.Level, tag byte) error {
		bp := getBuffer()
		*bp = append((*bp)[:0], tag)
		return b.enqueue(bp, l, 0, 1<<20)
	}
	require.NoError(t, push(slog.LevelDebug, 'd'))
	require.NoError(t, push(slog.LevelInfo, 'i'))
	require.NoError(t, push(slog.LevelError, 'e'))
	require.NoError(t, push(slog.LevelWarn, 'w'))           // evicts d
	require.ErrorIs(t, push(LevelTrace, 't'), ErrQueueFull) // nothing below INFO queued
	require.NoError(t, push(LevelFatal, 'f'))               // evicts i
	require.NoError(t, push(slog.LevelError, 'E'))          // evicts w
	require.NoError(t, push(slog.LevelError, 'X'))          // only ERRORs left: evicts e, the oldest
	var got []byte
	for _, e := range b.take(nil) {
		got = append(got, (*e.buf)[0])
	}
	assert.Equal(t, "fEX", string(got))
	s := b.stats()
	assert.Equal(t, uint64(5), s.Dropped.QueueFull)
	assert.Equal(t, uint64(8), s.Handled)
}

func TestQueueBytesBound(t *testing.T) {
	b := newBatcher(discardExporter{}, (&HandlerOptions{MaxQueueBytes: 4 * initialBufferSize, BatchSize: 100}).withDefaults(), nil, &scopeRegistry{})
	for range 10 {
		bp := getBuffer()
		*bp = append((*bp)[:0], 'x')
		require.NoError(t, b.enqueue(bp, slog.LevelInfo, 0, 1<<20))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	assert.LessOrEqual(t, b.qbytes, 4*initialBufferSize+initialBufferSize)
	assert.Equal(t, uint64(10)-uint64(b.queued), b.st.Dropped.QueueFull)
}

func TestRetryBackoffAndJitter(t *testing.T) {
	script := make([]Result, 8)
	for i := range script {
		script[i] = Result{Outcome: ExportRetryable, Err: errors.New("503")}
	}
	h, exp, fs := newScripted(t, &HandlerOptions{MaxRetryTime: time.Hour}, script...)
	slog.New(h).Error("x")
	flush(t, h)
	assert.Equal(t, 1, exp.count(t))
	want := []time.Duration{1, 2, 4, 8, 16, 32, 32, 32}
	got := fs.got()
	require.Len(t, got, len(want))
	for i, w := range want {
		assert.Equal(t, w*time.Second, got[i], "jitter 0.5 is the midpoint: no spread")
	}
	s := h.Stats()
	assert.Equal(t, uint64(8), s.Retries)
	assert.Equal(t, uint64(9), s.ExportAttempts)
}

func TestJitterBounds(t *testing.T) {
	b := newBatcher(discardExporter{}, (&HandlerOptions{}).withDefaults(), nil, &scopeRegistry{})
	r := rand.New(rand.NewPCG(1, 2))
	b.jitter = r.Float64
	for attempt := range 10 {
		base := min(time.Second<<attempt, 32*time.Second)
		for range 200 {
			d := b.backoff(attempt)
			assert.GreaterOrEqual(t, d, base*8/10)
			assert.Less(t, d, base*12/10)
		}
	}
	assert.Equal(t, 32*time.Second*8/10, func() time.Duration { b.jitter = func() float64 { return 0 }; return b.backoff(1000) }())
}

func TestRetryAfterWins(t *testing.T) {
	h, _, fs := newScripted(t, nil, Result{Outcome: ExportRetryable, RetryAfter: 7 * time.Second})
	slog.New(h).Error("x")
	flush(t, h)
	assert.Equal(t, []time.Duration{7 * time.Second}, fs.got())
}

func TestRetriesExhausted(t *testing.T) {
	var errs []error
	var mu sync.Mutex
	exp := &scriptExporter{}
	for range 100 {
		exp.next = append(exp.next, Result{Outcome: ExportRetryable, Err: errors.New("HTTP 503")})
	}
	clock := time.Unix(0, 0)
	h := newHandler(exp, &HandlerOptions{MaxRetryTime: 10 * time.Second, OnError: func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }}, func(b *batcher) {
		b.sleep = func(d time.Duration, _ <-chan struct{}) bool { clock = clock.Add(d); return true }
		b.now = func() time.Time { return clock }
	})
	defer h.Shutdown(context.Background())
	slog.New(h).Error("x")
	flush(t, h)
	s := h.Stats()
	assert.Equal(t, uint64(1), s.Dropped.RetriesExhausted)
	checkStats(t, s)
	mu.Lock()
	got := slices.Clone(errs)
	mu.Unlock()
	require.Len(t, got, 2, "%v", got)
	assert.Contains(t, got[0].Error(), "export is failing and is retried with backoff: HTTP 503")
	assert.Contains(t, got[1].Error(), "dropped 1 records after retrying for 10s (MaxRetryTime): HTTP 503")
}

func TestOfflineDoesNotGiveUp(t *testing.T) {
	exp := &scriptExporter{}
	for range 50 {
		exp.next = append(exp.next, Result{Outcome: ExportRetryable, Offline: true, Err: errors.New("connection refused")})
	}
	clock := time.Unix(0, 0)
	var sawOffline atomic.Bool

	h := newHandler(exp, &HandlerOptions{MaxRetryTime: time.Second}, func(b *batcher) {
		b.sleep = func(d time.Duration, _ <-chan struct{}) bool {
			clock = clock.Add(d)
			if b.stats().Offline {
				sawOffline.Store(true)
			}
			return true
		}
		b.now = func() time.Time { return clock }
	})
	defer h.Shutdown(context.Background())
	slog.New(h).Error("x")
	flush(t, h)
	assert.True(t, sawOffline.Load(), "Stats shows the offline state while probing")
	s := h.Stats()
	assert.False(t, s.Offline, "back online after the receiver answered")
	assert.Equal(t, uint64(1), s.Exported, "no time limit while offline: the record got through")
	assert.Equal(t, uint64(50), s.Retries)
}

func TestFatalDisables(t *testing.T) {
	var errs []error
	var mu sync.Mutex
	exp := &scriptExporter{}
	exp.next = []Result{{Outcome: ExportFatal, Err: errors.New("HTTP 401: check the token")}}
	h := NewHandler(exp, &HandlerOptions{OnError: func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }})
	defer h.Shutdown(context.Background())
	l := slog.New(h)
	l.Info("queued")
	l.Error("trigger")
	flush(t, h)
	require.ErrorIs(t, h.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelError, "after", 0)), ErrExportFailed)
	l.Error("after too")
	flush(t, h)
	s := h.Stats()
	assert.True(t, s.Fatal)
	assert.Equal(t, uint64(4), s.Dropped.Fatal)
	assert.Zero(t, s.Queued, "nothing piles up")
	checkStats(t, s)
	exp.mu.Lock()
	assert.Equal(t, 1, exp.calls, "no export after a fatal result")
	exp.mu.Unlock()
	mu.Lock()
	require.Len(t, errs, 1, "one clear error")
	assert.Contains(t, errs[0].Error(), "export stopped for good")
	assert.Contains(t, errs[0].Error(), "check the token")
	mu.Unlock()
}

func TestTooLargeSplitsInHalves(t *testing.T) {
	h, exp, _ := newScripted(t, nil,
		Result{Outcome: ExportTooLarge}, // 4 records
		Result{Outcome: ExportTooLarge}, // first 2
		Result{},                        // first 1
		Result{Outcome: ExportTooLarge}, // second 1: alone and still too large
		Result{},                        // last 2
	)
	l := slog.New(h)
	logN(l, slog.LevelInfo, 3)
	l.Error("e")
	flush(t, h)
	exp.mu.Lock()
	assert.Equal(t, []int{4, 2, 1, 1, 2}, exp.sizes)
	exp.mu.Unlock()
	s := h.Stats()
	assert.Equal(t, uint64(3), s.Exported)
	assert.Equal(t, uint64(1), s.Dropped.TooLarge)
}

func TestPartialSuccessAndRejected(t *testing.T) {
	var errs []string
	var mu sync.Mutex
	exp := &scriptExporter{}
	exp.next = []Result{{Rejected: 2, Err: errors.New("timestamps too old")}, {Outcome: ExportRejected, Err: errors.New("HTTP 400")}}
	h := NewHandler(exp, &HandlerOptions{OnError: func(err error) { mu.Lock(); errs = append(errs, err.Error()); mu.Unlock() }})
	defer h.Shutdown(context.Background())
	l := slog.New(h)
	logN(l, slog.LevelInfo, 4)
	l.Error("e") // 5 records, 2 rejected
	flush(t, h)
	l.Error("f") // rejected whole
	flush(t, h)
	l.Error("g") // export stays on
	flush(t, h)
	s := h.Stats()
	assert.Equal(t, uint64(4), s.Exported)
	assert.Equal(t, uint64(3), s.Dropped.Rejected)
	checkStats(t, s)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, errs, 2)
	assert.Contains(t, errs[0], "rejected 2 of 5 records: timestamps too old")
	assert.Contains(t, errs[1], "export goes on")
}

func TestPayloadSplitByMaxBytes(t *testing.T) {
	h, exp := newTestHandler(t, &HandlerOptions{MaxPayloadBytes: 4096, BatchSize: 100})
	l := slog.New(h)
	for i := range 40 {
		l.Info("m", "pad", strings.Repeat("x", 200), "i", i)
	}
	flush(t, h)
	assert.Equal(t, 40, exp.count(t))
	payloads := exp.texts()
	assert.Greater(t, len(payloads), 1)
	for _, p := range payloads {
		assert.LessOrEqual(t, len(p), 4096, p)
	}
}

func TestRecordTooLarge(t *testing.T) {
	h, _ := newTestHandler(t, &HandlerOptions{MaxPayloadBytes: 2048})
	err := h.Handle(context.Background(), func() slog.Record {
		r := slog.NewRecord(time.Now(), slog.LevelError, "big", 0)
		r.AddAttrs(slog.String("a", strings.Repeat("x", 3000)))
		return r
	}())
	assert.ErrorIs(t, err, ErrTooLarge)
	assert.Equal(t, uint64(1), h.Stats().Dropped.TooLarge)
}

func TestExporterPanicIsContained(t *testing.T) {
	var got []error
	var mu sync.Mutex
	h := NewHandler(panicExporter{}, &HandlerOptions{DropReportInterval: -1,
		OnError: func(err error) { mu.Lock(); got = append(got, err); mu.Unlock() }})
	slog.New(h).Error("x")
	flush(t, h)
	err := h.Shutdown(context.Background())
	assert.ErrorContains(t, err, "exporter panicked: exporter bug", "Shutdown names the loss and its cause")
	assert.Equal(t, uint64(1), h.Stats().Dropped.Rejected)
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, got)
	assert.Contains(t, got[0].Error(), "exporter panicked")
}

type panicExporter struct{}

func (panicExporter) Export(context.Context, []byte, int) Result { panic("exporter bug") }
func (panicExporter) Shutdown(context.Context) error             { panic("shutdown bug") }

func TestShutdownDrainsAndIsIdempotent(t *testing.T) {
	exp := &captureExporter{}
	h := NewHandler(exp, nil)
	logN(slog.New(h), slog.LevelInfo, 300)
	require.NoError(t, h.Shutdown(context.Background()))
	require.NoError(t, h.Shutdown(context.Background()))
	require.NoError(t, h.WithGroup("g").(*Handler).Shutdown(context.Background()))
	assert.Equal(t, 300, exp.count(t))
	assert.Equal(t, 1, exp.shutdown)
	assert.ErrorIs(t, h.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelInfo, "late", 0)), ErrShutdown)
	assert.ErrorIs(t, h.Flush(context.Background()), ErrShutdown)
	s := h.Stats()
	assert.Equal(t, uint64(1), s.Dropped.Shutdown)
	checkStats(t, s)
}

// blockingExporter never answers until its context ends.
type blockingExporter struct{ calls atomic.Int32 }

func (b *blockingExporter) Export(ctx context.Context, _ []byte, _ int) Result {
	b.calls.Add(1)
	<-ctx.Done()
	return Result{Outcome: ExportRetryable, Offline: true, Err: ctx.Err()}
}
func (*blockingExporter) Shutdown(context.Context) error { return nil }

func TestShutdownRespectsContext(t *testing.T) {
	exp := &blockingExporter{}
	h := NewHandler(exp, nil)
	logN(slog.New(h), slog.LevelError, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := h.Shutdown(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	s := h.Stats()
	assert.Equal(t, uint64(3), s.Dropped.Shutdown)
	assert.Zero(t, s.Queued)
	checkStats(t, s)
}

func TestFlushRespectsContext(t *testing.T) {
	exp := &blockingExporter{}
	h := NewHandler(exp, &HandlerOptions{ExportTimeout: time.Hour})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		_ = h.Shutdown(ctx)
	}()
	slog.New(h).Error("x")
	require.Eventually(t, func() bool { return exp.calls.Load() > 0 }, 5*time.Second, time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, h.Flush(ctx), context.Canceled)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	assert.ErrorIs(t, h.Flush(ctx2), context.DeadlineExceeded)
}

func TestConcurrentHandleFlushShutdown(t *testing.T) {
	exp := &captureExporter{}
	h := NewHandler(exp, &HandlerOptions{BatchSize: 16, MaxQueueSize: 64, DropReportInterval: -1, OnError: func(error) {}})
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			l := slog.New(h).With("g", g)
			for i := range 2000 {
				l.Info("m", "i", i)
				if i%500 == 0 {
					_ = h.Flush(context.Background())
				}
				if g == 0 && i == 1500 {
					_ = h.Shutdown(context.Background())
				}
			}
		})
	}
	wg.Wait()
	err := h.Shutdown(context.Background())
	s := h.Stats()
	var de *DeliveryError
	require.ErrorAs(t, err, &de, "records logged after Shutdown are lost, and Shutdown says so")
	assert.Equal(t, s.Dropped.QueueFull, de.Dropped.QueueFull)
	checkStats(t, s)
	assert.Equal(t, uint64(12000), s.Handled)
	assert.Zero(t, s.Queued)
	assert.Equal(t, int(s.Exported), exp.count(t))
}

// TestConservation: 20k records from 8 goroutines in about 80 batches, a
// flaky exporter and no waits between retries; every record is exported
// exactly once or counted as dropped.
func TestConservation(t *testing.T) {
	exp := &flakyExporter{seen: map[string]int{}, r: rand.New(rand.NewPCG(3, 4))}
	h := newHandler(exp, &HandlerOptions{MaxQueueSize: 40000, MaxQueueBytes: 1 << 30, BatchSize: 256, MaxRetryTime: time.Hour}, func(b *batcher) {
		b.sleep = func(time.Duration, <-chan struct{}) bool { return true }
	})
	var wg sync.WaitGroup
	const per = 2500
	for g := range 8 {
		wg.Go(func() {
			l := slog.New(h)
			for i := range per {
				l.Info("m", "id", g*per+i)
			}
		})
	}
	wg.Wait()
	require.NoError(t, h.Shutdown(context.Background()))
	s := h.Stats()
	checkStats(t, s)
	assert.Equal(t, uint64(8*per), s.Handled)
	assert.Zero(t, s.Dropped.Total(), "the queue was big enough")
	exp.mu.Lock()
	defer exp.mu.Unlock()
	assert.Equal(t, 8*per, len(exp.seen))
	for id, n := range exp.seen {
		if n != 1 {
			t.Fatalf("record %s received %d times", id, n)
		}
	}
	assert.Greater(t, exp.failed, 0)
}

type flakyExporter struct {
	mu     sync.Mutex
	r      *rand.Rand
	seen   map[string]int
	failed int
}

func (f *flakyExporter) Export(_ context.Context, p []byte, _ int) Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.r.Float64() < 0.3 {
		f.failed++
		return Result{Outcome: ExportRetryable}
	}
	s := string(p)
	for {
		i := strings.Index(s, `{"key":"id","value":{"intValue":"`)
		if i < 0 {
			break
		}
		s = s[i+33:]
		j := strings.IndexByte(s, '"')
		f.seen[s[:j]]++
	}
	return Result{}
}
func (*flakyExporter) Shutdown(context.Context) error { return nil }

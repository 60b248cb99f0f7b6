package slogotlp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// protoCapture is a captureExporter that asks for protobuf and keeps the
// payloads' record count.
type protoCapture struct {
	mu      sync.Mutex
	records int
	calls   int
}

func (p *protoCapture) WireFormat() WireFormat { return FormatProtobuf }
func (p *protoCapture) Export(_ context.Context, payload []byte, n int) Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if len(payload) == 0 || payload[0] != tagResourceLogs {
		return Result{Outcome: ExportRejected, Err: errors.New("not a protobuf ExportLogsServiceRequest")}
	}
	p.records += n
	return Result{}
}
func (p *protoCapture) Shutdown(context.Context) error { return nil }
func (p *protoCapture) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.records
}

// stuckExporter holds every Export until release is closed or the
// export's context ends.
type stuckExporter struct {
	release chan struct{}
	entered chan struct{}
	once    sync.Once
}

func newStuck() *stuckExporter {
	return &stuckExporter{release: make(chan struct{}), entered: make(chan struct{})}
}

func (b *stuckExporter) Export(ctx context.Context, _ []byte, _ int) Result {
	b.once.Do(func() { close(b.entered) })
	select {
	case <-b.release:
		return Result{}
	case <-ctx.Done():
		return Result{Outcome: ExportRetryable, Err: ctx.Err()}
	}
}
func (b *stuckExporter) Shutdown(context.Context) error { return nil }

func newMulti(t *testing.T, dests []Destination, opts *HandlerOptions) *Handler {
	t.Helper()
	h := NewMultiHandler(dests, opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
		checkAllStats(t, h)
	})
	return h
}

// checkAllStats asserts the Stats identity for the aggregate and for every
// destination, and that the aggregate is the destinations' sum.
func checkAllStats(t *testing.T, h *Handler) {
	t.Helper()
	var sum Stats
	for _, d := range h.DestinationStats() {
		checkStats(t, d.Stats)
		sum.Handled += d.Handled
		sum.Exported += d.Exported
	}
	s := h.Stats()
	checkStats(t, s)
	assert.Equal(t, sum.Handled, s.Handled)
	assert.Equal(t, sum.Exported, s.Exported)
}

func TestMultiHandlerSendsToEach(t *testing.T) {
	jsonExp, protoExp := &captureExporter{}, &protoCapture{}
	h := newMulti(t, []Destination{{Name: "a", Exporter: jsonExp}, {Name: "b", Exporter: protoExp}}, nil)
	logger := slog.New(h).With("svc", "api")
	for i := range 10 {
		logger.Info("hello", "i", i)
	}
	flush(t, h)
	recs := jsonExp.records(t)
	require.Len(t, recs, 10)
	assert.Equal(t, "hello", recs[3]["body"].(map[string]any)["stringValue"])
	assert.Equal(t, map[string]any{"svc": "api", "i": "3"}, attrMap(recs[3]["attributes"]))
	assert.Equal(t, 10, protoExp.count(), "the second destination framed the same records in protobuf")

	ds := h.DestinationStats()
	require.Len(t, ds, 2)
	assert.Equal(t, "a", ds[0].Name)
	assert.Equal(t, "b", ds[1].Name)
	for _, d := range ds {
		assert.Equal(t, uint64(10), d.Handled)
		assert.Equal(t, uint64(10), d.Exported)
	}
	s := h.Stats()
	assert.Equal(t, uint64(20), s.Handled, "a record sent to two destinations counts twice in the aggregate")
	assert.Equal(t, uint64(20), s.Exported)
	checkAllStats(t, h)
}

// TestMultiHandlerDeadDestination: a destination whose receiver never
// answers holds up neither Handle nor the other destination, Flush waits
// for the live one and reports the stuck one by name, and Shutdown ends both.
func TestMultiHandlerDeadDestination(t *testing.T) {
	stuck, live := newStuck(), &captureExporter{}
	defer close(stuck.release)
	var mu sync.Mutex
	var errs []error
	h := NewMultiHandler([]Destination{{Name: "stuck", Exporter: stuck}, {Name: "live", Exporter: live}},
		&HandlerOptions{BatchSize: 1, OnError: func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }})
	logger := slog.New(h)
	logger.Error("first")
	<-stuck.entered // the stuck destination is busy with it for good
	for i := range 100 {
		require.NoError(t, h.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelError, fmt.Sprint("r", i), 0)))
	}
	require.Eventually(t, func() bool { return live.count(t) == 101 }, 5*time.Second, time.Millisecond,
		"the live destination gets everything while the other is stuck")

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err := h.Flush(ctx)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "slogotlp: destination stuck: ")
	assert.NotContains(t, err.Error(), "destination live")

	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = h.Shutdown(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "destination stuck")
	ds := h.DestinationStats()
	assert.Equal(t, uint64(101), ds[1].Exported)
	assert.Equal(t, uint64(101), ds[0].Dropped.Shutdown, "the stuck one's queue is dropped when Shutdown's context ends")
	mu.Lock()
	for _, err := range errs {
		assert.Contains(t, err.Error(), "slogotlp: destination stuck: ")
	}
	mu.Unlock()
	checkAllStats(t, h)
	assert.Equal(t, err.Error(), h.Shutdown(context.Background()).Error(), "a second Shutdown returns at once, with the same result")
}

func TestMultiHandlerDestinationLevel(t *testing.T) {
	all, warn := &captureExporter{}, &captureExporter{}
	level := new(slog.LevelVar)
	level.Set(slog.LevelWarn)
	h := newMulti(t, []Destination{{Name: "all", Exporter: all}, {Name: "warn", Exporter: warn, Level: level}},
		&HandlerOptions{Level: slog.LevelDebug})
	logger := slog.New(h)
	logger.Debug("d")
	logger.Info("i")
	logger.Warn("w")
	flush(t, h)
	assert.Equal(t, 3, all.count(t))
	assert.Equal(t, 1, warn.count(t))
	ds := h.DestinationStats()
	assert.Equal(t, uint64(3), ds[0].Handled)
	assert.Equal(t, uint64(1), ds[1].Handled, "a record below a destination's level is not counted by it")

	level.Set(slog.LevelDebug) // run-time change
	logger.Debug("d2")
	flush(t, h)
	assert.Equal(t, 2, warn.count(t))

	// A single destination with a level of its own filters too.
	one := &captureExporter{}
	h1 := newMulti(t, []Destination{{Exporter: one, Level: slog.LevelError}}, nil)
	slog.New(h1).Warn("no")
	slog.New(h1).Error("yes")
	flush(t, h1)
	assert.Equal(t, 1, one.count(t))
	assert.Equal(t, "destination1", h1.DestinationStats()[0].Name)
}

func TestMultiHandlerHandleErrors(t *testing.T) {
	a, b := &captureExporter{}, &captureExporter{}
	h := newMulti(t, []Destination{{Name: "a", Exporter: a}, {Name: "b", Exporter: b}}, &HandlerOptions{DropReportInterval: -1})
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "x", 0)

	// One destination dead (fatal): Handle still succeeds through the other.
	h.c.dests[0].b.disable(errors.New("bad token"))
	require.NoError(t, h.Handle(context.Background(), r))
	flush(t, h)
	// Both refusing: the first error comes back.
	h.c.dests[1].b.disable(errors.New("bad token"))
	assert.ErrorIs(t, h.Handle(context.Background(), r), ErrExportFailed)
	ds := h.DestinationStats()
	assert.Equal(t, uint64(2), ds[0].Dropped.Fatal)
	assert.Equal(t, uint64(1), ds[1].Dropped.Fatal)
	assert.Equal(t, uint64(1), ds[1].Exported)
	assert.True(t, h.Stats().Fatal)

	// Paused everywhere with SetEnabled(false).
	h.SetEnabled(false)
	assert.False(t, h.Enabled(context.Background(), slog.LevelError))
	assert.True(t, h.Stats().Paused)
	h.SetEnabled(true)
	assert.False(t, h.Stats().Paused)
}

// TestMultiHandlerEnqueueRefusal: a record refused by one queue (too large
// for it) but taken by another.
func TestMultiHandlerEnqueueRefusal(t *testing.T) {
	a, b := &captureExporter{}, &captureExporter{}
	h := newMulti(t, []Destination{{Name: "a", Exporter: a}, {Name: "b", Exporter: b}}, nil)
	h.c.dests[1].maxRecord = 10 // b takes nothing of that size
	slog.New(h).Info("a record longer than ten bytes")
	flush(t, h)
	assert.Equal(t, 1, a.count(t))
	assert.Equal(t, 0, b.count(t))
	assert.Equal(t, uint64(1), h.DestinationStats()[1].Dropped.TooLarge)

	h.c.dests[0].maxRecord = 10
	err := h.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelInfo, "a record longer than ten bytes", 0))
	assert.ErrorIs(t, err, ErrTooLarge, "refused everywhere: the first error")
}

func TestMultiHandlerNames(t *testing.T) {
	h := newMulti(t, []Destination{{Name: "x"}, {Name: "x"}, {}}, nil)
	var got []string
	for _, d := range h.DestinationStats() {
		got = append(got, d.Name)
	}
	assert.Equal(t, []string{"x", "x#2", "destination3"}, got)
	slog.New(h).Info("discarded three times")
	flush(t, h)
	assert.Equal(t, uint64(3), h.Stats().Exported, "a nil Exporter discards")
}

func TestMultiHandlerErrorsNameTheDestination(t *testing.T) {
	var mu sync.Mutex
	var errs []error
	fails := &captureExporter{next: []Result{{Outcome: ExportRejected, Err: errors.New("nope")}}}
	h := newMulti(t, []Destination{{Name: "ok"}, {Name: "picky", Exporter: fails}},
		&HandlerOptions{OnError: func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }})
	slog.New(h).Error("x")
	flush(t, h)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, errs, 1)
	assert.Equal(t, "slogotlp: destination picky: dropped 1 records the receiver refused (export goes on): nope", errs[0].Error())
	var de *destinationError
	assert.ErrorAs(t, errs[0], &de)
}

// TestMultiHandlerDropReportNamesDestination: a destination's drop report
// says which one dropped, and reaches the others too.
func TestMultiHandlerDropReportNamesDestination(t *testing.T) {
	full, other := &captureExporter{}, &captureExporter{}
	h := newMultiHandler([]Destination{{Name: "full", Exporter: full}, {Name: "other", Exporter: other}},
		&HandlerOptions{MaxQueueSize: 100, BatchSize: 100, DropReportInterval: 20 * time.Millisecond}, nil)
	defer h.Shutdown(context.Background())
	b := h.c.dests[0].b
	b.mu.Lock()
	b.opts.MaxQueueSize = 2 // only "full" overflows
	b.mu.Unlock()
	logger := slog.New(h)
	for range 4 {
		logger.Info("x")
	}
	require.Eventually(t, func() bool {
		flush(t, h)
		dropped := 0 // the reports are deltas: a tick may fall between the drops
		for _, r := range other.records(t) {
			if r["body"].(map[string]any)["stringValue"] == "slogotlp: log records dropped" {
				a := attrMap(r["attributes"])
				assert.Equal(t, "full", a["slogotlp.destination"])
				n, _ := strconv.Atoi(fmt.Sprint(a["otel.logs.dropped.queue_full"]))
				dropped += n
			}
		}
		return dropped >= 2 // a report queued into the full queue may evict one more
	}, 5*time.Second, 5*time.Millisecond)
}

func TestMultiHandlerNoDestination(t *testing.T) {
	h := NewMultiHandler(nil, nil)
	assert.False(t, h.Enabled(context.Background(), slog.LevelError))
	assert.NoError(t, h.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelError, "x", 0)))
	h.SetEnabled(true)
	assert.Equal(t, Stats{}, h.Stats())
	assert.Empty(t, h.DestinationStats())
	assert.NoError(t, h.Flush(context.Background()))
	assert.NoError(t, h.Shutdown(context.Background()))
}

func TestMultiHandlerTooMany(t *testing.T) {
	assert.PanicsWithValue(t, "slogotlp: NewMultiHandler: more than 64 destinations", func() {
		NewMultiHandler(make([]Destination, 65), nil)
	})
}

// TestMultiHandlerConcurrent shares clones across goroutines, with
// SetEnabled toggling, under -race; every destination's counters add up.
func TestMultiHandlerConcurrent(t *testing.T) {
	a, b := &captureExporter{}, &protoCapture{}
	h := newMulti(t, []Destination{{Name: "a", Exporter: a}, {Name: "b", Exporter: b, Level: slog.LevelWarn}},
		&HandlerOptions{DropReportInterval: -1})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			logger := slog.New(h).With("g", g).WithGroup("req")
			for i := range 200 {
				if i%50 == 0 {
					h.SetEnabled(i%100 != 0)
				}
				logger.Warn("w", "i", i)
				logger.Info("i", "i", i)
			}
		})
	}
	wg.Wait()
	h.SetEnabled(true)
	flush(t, h)
	ds := h.DestinationStats()
	assert.Equal(t, ds[0].Exported, uint64(a.count(t)))
	assert.Equal(t, ds[1].Exported, uint64(b.count()))
	checkAllStats(t, h)
}

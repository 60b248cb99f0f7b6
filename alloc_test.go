//go:build !race

package slogotlp

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

func benchRecord() slog.Record {
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "request served", 0)
	r.AddAttrs(slog.Int("status", 200), slog.String("path", "/api/items"), slog.Float64("ratio", 0.25),
		slog.Bool("cached", true), slog.Duration("latency", 12*time.Millisecond))
	return r
}

// TestHandleAllocs pins the hot path: encoding a record (with and without
// bound attributes and groups) and queueing it allocate nothing in the steady
// state, like slog's JSONHandler. The two halves are measured apart because
// AllocsPerRun pins GOMAXPROCS to 1, which would starve the export goroutine
// that recycles buffers.
func TestHandleAllocs(t *testing.T) {
	h := NewHandler(discardExporter{}, nil)
	defer h.Shutdown(context.Background())
	bound := h.WithAttrs([]slog.Attr{slog.String("svc", "api"), slog.Int("pid", 1)}).WithGroup("req").(*Handler)
	r := benchRecord()
	ctx := context.Background()
	buf := make([]byte, 0, 4096)
	now := time.Now()
	for name, hh := range map[string]*Handler{"plain": h, "bound": bound} {
		got := testing.AllocsPerRun(1000, func() { buf = hh.appendRecord(buf[:0], ctx, r, now) })
		if got != 0 {
			t.Errorf("%s: encoding allocates %.2f times per record, want 0", name, got)
		}
	}

	b := newBatcher(discardExporter{}, (&HandlerOptions{BatchSize: 64}).withDefaults(), nil, &scopeRegistry{})
	var batch []entry
	got := testing.AllocsPerRun(1000, func() {
		for range 64 {
			bp := getBuffer()
			*bp = append((*bp)[:0], "{}"...)
			_ = b.enqueue(bp, slog.LevelInfo, 0, 1<<20)
		}
		batch = b.take(batch)
		b.settle(batch, 64, dropRejected)
	})
	if got > 0 {
		t.Errorf("queueing 64 records allocates %.2f times, want 0", got)
	}
}

func BenchmarkHandle(b *testing.B) {
	ctx := context.Background()
	r := benchRecord()
	run := func(b *testing.B, h slog.Handler) {
		b.ReportAllocs()
		for b.Loop() {
			_ = h.Handle(ctx, r)
		}
	}
	b.Run("slogotlp/plain", func(b *testing.B) {
		h := NewHandler(discardExporter{}, nil)
		defer h.Shutdown(ctx)
		run(b, h)
	})
	b.Run("slogotlp/bound", func(b *testing.B) {
		h := NewHandler(discardExporter{}, nil)
		defer h.Shutdown(ctx)
		run(b, h.WithAttrs([]slog.Attr{slog.String("svc", "api"), slog.Int("pid", 1)}).WithGroup("req"))
	})
	b.Run("stdlib-json/plain", func(b *testing.B) { run(b, slog.NewJSONHandler(io.Discard, nil)) })
	b.Run("stdlib-json/bound", func(b *testing.B) {
		run(b, slog.NewJSONHandler(io.Discard, nil).WithAttrs([]slog.Attr{slog.String("svc", "api"), slog.Int("pid", 1)}).WithGroup("req"))
	})
}

// BenchmarkMiddleware measures redaction and sampling in front of the
// handler, next to the bare handler, in one run.
func BenchmarkMiddleware(b *testing.B) {
	ctx := context.Background()
	r := benchRecord()
	h := NewHandler(discardExporter{}, nil)
	defer h.Shutdown(ctx)
	for _, tc := range []struct {
		name string
		h    slog.Handler
	}{
		{"bare", h},
		{"redact", Redact(nil)(h)},
		{"sample", Sample(&SampleOptions{Rates: map[slog.Level]float64{slog.LevelInfo: 1}})(h)},
		{"redact+sample", Redact(nil)(Sample(&SampleOptions{Rates: map[slog.Level]float64{slog.LevelInfo: 1}})(h))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = tc.h.Handle(ctx, r)
			}
		})
	}
}

//go:build !race && unix && !aix && !solaris

package slogotlp

import (
	"context"
	"log/slog"
	"testing"
)

// acceptExporter takes every payload. Unlike discardExporter it stands for
// a receiver, so a handler on it opens its spool.
type acceptExporter struct{}

func (acceptExporter) Export(context.Context, []byte, int) Result { return Result{} }
func (acceptExporter) Shutdown(context.Context) error             { return nil }

// TestHandleAllocsWithSpool: with a spool open and the receiver up, queueing
// and settling records allocates nothing, as without one: the spool costs
// the hot path one nil check, in the overflow branch only.
func TestHandleAllocsWithSpool(t *testing.T) {
	o := (&HandlerOptions{BatchSize: 64, SpoolDir: t.TempDir()}).withDefaults()
	b := newBatcher(acceptExporter{}, o, nil, &scopeRegistry{})
	b.attachSpool(o, "default", nil)
	if b.spool == nil {
		t.Fatalf("the spool did not open: %v", b.spoolErr)
	}
	defer func() { _ = b.spool.close() }()
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
		t.Errorf("queueing 64 records with a spool allocates %.2f times, want 0", got)
	}
}

// BenchmarkHandleSpool is BenchmarkHandle's plain case with a spool open
// and the receiver up: the same cost, and nothing written.
func BenchmarkHandleSpool(b *testing.B) {
	ctx := context.Background()
	r := benchRecord()
	h := NewHandler(acceptExporter{}, &HandlerOptions{SpoolDir: b.TempDir()})
	defer h.Shutdown(ctx)
	if h.c.b.spool == nil {
		b.Fatalf("the spool did not open: %v", h.c.b.spoolErr)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = h.Handle(ctx, r)
	}
	b.StopTimer()
	if names := spoolNames(b, h.c.b.spool.dir); len(names) > 0 {
		b.Fatalf("the spool wrote %d files with the receiver up", len(names))
	}
}

//go:build !race

package slogotlp

import (
	"context"
	"log/slog"
	"testing"
)

// TestHandleEachAllocs pins the multi-destination path: choosing the
// takers and copying the encoded record for each allocate nothing in the
// steady state (the copies come from the buffer pool). The queues are
// drained between runs, as in TestHandleAllocs.
func TestHandleEachAllocs(t *testing.T) {
	dests := []Destination{{Name: "a"}, {Name: "b", Level: slog.LevelInfo}, {Name: "c", Level: slog.LevelError}}
	h := NewMultiHandler(dests, &HandlerOptions{MaxQueueSize: 1 << 14, BatchSize: 1 << 14, DropReportInterval: -1})
	defer h.Shutdown(context.Background())
	r := benchRecord()
	ctx := context.Background()
	batches := make([][]entry, len(h.c.dests))
	drain := func() {
		for i, d := range h.c.dests {
			batches[i] = d.b.take(batches[i])
			d.b.settle(batches[i], 0, dropRejected)
		}
	}
	for range 64 { // warm the pool
		_ = h.Handle(ctx, r)
	}
	drain()
	got := testing.AllocsPerRun(100, func() {
		for range 64 {
			_ = h.Handle(ctx, r)
		}
		drain()
	})
	if got > 0 {
		t.Errorf("handling 64 records for 2 of 3 destinations allocates %.2f times, want 0", got)
	}
}

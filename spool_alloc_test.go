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

// protoAcceptExporter is an acceptExporter that takes protobuf, as the
// HTTP exporters do by default.
type protoAcceptExporter struct{ acceptExporter }

func (protoAcceptExporter) WireFormat() WireFormat { return FormatProtobuf }

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

// BenchmarkHandleSpool is BenchmarkHandle's plain case without and with a
// spool open, the receiver up: the same cost, and nothing written.
func BenchmarkHandleSpool(b *testing.B) {
	for _, bc := range []struct {
		name string
		dir  func() string
	}{{"off", func() string { return "" }}, {"on", b.TempDir}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			r := benchRecord()
			h := NewHandler(protoAcceptExporter{}, &HandlerOptions{SpoolDir: bc.dir()})
			defer h.Shutdown(ctx)
			if bc.name == "on" && h.c.b.spool == nil {
				b.Fatalf("the spool did not open: %v", h.c.b.spoolErr)
			}
			b.ReportAllocs()
			for b.Loop() {
				_ = h.Handle(ctx, r)
			}
			b.StopTimer()
			if sp := h.c.b.spool; sp != nil {
				if names := spoolNames(b, sp.dir); len(names) > 0 {
					b.Fatalf("the spool wrote %d files with the receiver up", len(names))
				}
			}
		})
	}
}

// BenchmarkSpoolWrite is the whole cost of moving one batch of 256 typical
// records to disk, per record: splitting it by class and size in the
// exporter's format, framing the protobuf request, and the put.
func BenchmarkSpoolWrite(b *testing.B) {
	b.Run("protobuf", func(b *testing.B) { benchSpoolWrite(b, protoAcceptExporter{}) })
	b.Run("json", func(b *testing.B) { benchSpoolWrite(b, acceptExporter{}) })
}

func benchSpoolWrite(b *testing.B, exp Exporter) {
	ctx := context.Background()
	h := NewHandler(exp, &HandlerOptions{SpoolDir: b.TempDir(), SpoolMaxBytes: 1 << 40, NoResourceDetection: true})
	defer h.Shutdown(ctx)
	bt := h.c.b
	r := benchRecord()
	rec := h.appendRecord(nil, ctx, r, r.Time)
	const n = 256
	es := make([]entry, n)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for i := range es {
			bp := getBuffer()
			*bp = append((*bp)[:0], rec...)
			es[i] = entry{buf: bp, class: classMid}
		}
		bt.mu.Lock()
		bt.st.Handled += n
		bt.inflight += n
		bt.mu.Unlock()
		b.StartTimer()
		bt.spoolWrite(es)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
	b.ReportMetric(float64(len(rec)+2+spoolHeaderLen/n), "disk-B/record")
}

package bench

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/soliplex/slogotlp"
)

// discardExporter accepts every payload at once, so the batcher's goroutine
// keeps draining the queue as it would against a fast receiver.
type discardExporter struct{}

func (discardExporter) Export(context.Context, []byte, int) slogotlp.Result { return slogotlp.Result{} }
func (discardExporter) Shutdown(context.Context) error                      { return nil }

// WireFormat asks for protobuf payloads, as the library's HTTP exporters do
// by default, so the batcher frames records without transcoding them.
func (discardExporter) WireFormat() slogotlp.WireFormat { return slogotlp.FormatProtobuf }

// sdkDiscard is the same for the OpenTelemetry SDK.
type sdkDiscard struct{}

func (sdkDiscard) Export(context.Context, []sdklog.Record) error { return nil }
func (sdkDiscard) Shutdown(context.Context) error                { return nil }
func (sdkDiscard) ForceFlush(context.Context) error              { return nil }

// benchRecord is a message and five attributes of the common kinds.
func benchRecord() slog.Record {
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "request handled", 0)
	r.AddAttrs(
		slog.Int("status", 200),
		slog.String("path", "/api/v1/items"),
		slog.Float64("ratio", 0.25),
		slog.Bool("cached", true),
		slog.Duration("latency", 1500*time.Microsecond),
	)
	return r
}

// bind pre-binds attributes and a group, as a request-scoped logger does.
func bind(h slog.Handler) slog.Handler {
	return h.WithAttrs([]slog.Attr{
		slog.String("service", "api"),
		slog.Int("pid", 4242),
	}).WithGroup("req")
}

// BenchmarkHandle times one Handle call of a pre-built record: slogotlp
// (encoding, queueing, with the export goroutine draining the queue into a
// discarding exporter), slog's JSON handler into io.Discard, and the otelslog
// bridge into sdk/log's BatchProcessor with a discarding exporter.
func BenchmarkHandle(b *testing.B) {
	contenders := []struct {
		name string
		make func(b *testing.B) slog.Handler
	}{
		{"slogotlp", func(b *testing.B) slog.Handler {
			h := slogotlp.NewHandler(discardExporter{}, &slogotlp.HandlerOptions{BatchSize: 256})
			b.Cleanup(func() {
				_ = h.Shutdown(context.Background())
				st := h.Stats()
				if st.Handled > 0 {
					b.ReportMetric(100*float64(st.Dropped.Total())/float64(st.Handled), "drop%")
				}
			})
			return h
		}},
		{"stdlib-json", func(*testing.B) slog.Handler { return slog.NewJSONHandler(io.Discard, nil) }},
		{"otelslog", func(b *testing.B) slog.Handler {
			lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(sdkDiscard{})))
			b.Cleanup(func() { _ = lp.Shutdown(context.Background()) })
			return otelslog.NewHandler("bench", otelslog.WithLoggerProvider(lp))
		}},
	}
	ctx := context.Background()
	for _, c := range contenders {
		for _, bound := range []bool{false, true} {
			name := c.name + "/plain"
			if bound {
				name = c.name + "/bound"
			}
			b.Run(name, func(b *testing.B) {
				h := c.make(b)
				if bound {
					h = bind(h)
				}
				r := benchRecord()
				b.ReportAllocs()
				for b.Loop() {
					if err := h.Handle(ctx, r); err != nil && err != slogotlp.ErrQueueFull {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

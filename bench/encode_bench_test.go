package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/proto"

	"github.com/soliplex/slogotlp"
)

// formatDiscard accepts every payload, in the wire format it asks for.
type formatDiscard struct{ format slogotlp.WireFormat }

func (d formatDiscard) WireFormat() slogotlp.WireFormat                   { return d.format }
func (formatDiscard) Export(context.Context, []byte, int) slogotlp.Result { return slogotlp.Result{} }
func (formatDiscard) Shutdown(context.Context) error                      { return nil }

// benchLogRecord is benchRecord as the OTLP LogRecord struct the official
// exporter marshals: the same times, severity, body and five attributes
// (the duration as nanoseconds, as slogotlp and otelslog send it).
func benchLogRecord(r slog.Record) *logspb.LogRecord {
	str := func(s string) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
	}
	lr := &logspb.LogRecord{
		TimeUnixNano:         uint64(r.Time.UnixNano()),
		ObservedTimeUnixNano: uint64(time.Now().UnixNano()),
		SeverityNumber:       logspb.SeverityNumber_SEVERITY_NUMBER_INFO,
		SeverityText:         "INFO",
		Body:                 str(r.Message),
	}
	r.Attrs(func(a slog.Attr) bool {
		v := &commonpb.AnyValue{}
		switch a.Value.Kind() {
		case slog.KindInt64:
			v.Value = &commonpb.AnyValue_IntValue{IntValue: a.Value.Int64()}
		case slog.KindDuration:
			v.Value = &commonpb.AnyValue_IntValue{IntValue: a.Value.Duration().Nanoseconds()}
		case slog.KindFloat64:
			v.Value = &commonpb.AnyValue_DoubleValue{DoubleValue: a.Value.Float64()}
		case slog.KindBool:
			v.Value = &commonpb.AnyValue_BoolValue{BoolValue: a.Value.Bool()}
		default:
			v = str(a.Value.String())
		}
		lr.Attributes = append(lr.Attributes, &commonpb.KeyValue{Key: a.Key, Value: v})
		return true
	})
	return lr
}

// BenchmarkEncodeRecord times turning one record into OTLP protobuf bytes:
// slogotlp's whole Handle (resolve the attributes, encode the LogRecord into
// a pooled buffer, queue it; the export goroutine frames it as protobuf for
// a discarding exporter) against the protobuf runtime marshalling the same
// record, already built as an OTLP LogRecord struct, with proto.Marshal (a
// new slice each time) and with MarshalAppend into a reused buffer.
func BenchmarkEncodeRecord(b *testing.B) {
	r := benchRecord()
	ctx := context.Background()
	b.Run("slogotlp-handle", func(b *testing.B) {
		h := slogotlp.NewHandler(formatDiscard{slogotlp.FormatProtobuf}, &slogotlp.HandlerOptions{DropReportInterval: -1})
		defer h.Shutdown(ctx)
		b.ReportAllocs()
		for b.Loop() {
			_ = h.Handle(ctx, r)
		}
	})
	lr := benchLogRecord(r)
	b.Run("proto.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := proto.Marshal(lr); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("proto.MarshalAppend", func(b *testing.B) {
		buf := make([]byte, 0, 1024)
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if buf, err = (proto.MarshalOptions{}).MarshalAppend(buf[:0], lr); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("build+proto.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := proto.Marshal(benchLogRecord(r)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// payloads logs n records through a handler whose exporter asks for format
// and returns the payloads it was given.
func payloads(tb testing.TB, format slogotlp.WireFormat, records []slog.Record) [][]byte {
	tb.Helper()
	var mu sync.Mutex
	var out [][]byte
	exp := &captureFormat{format: format, f: func(p []byte) {
		mu.Lock()
		out = append(out, append([]byte(nil), p...))
		mu.Unlock()
	}}
	h := slogotlp.NewHandler(exp, &slogotlp.HandlerOptions{BatchSize: len(records), MaxQueueSize: len(records),
		DropReportInterval: -1, NoResourceDetection: true,
		Resource: []slog.Attr{slog.String("service.name", "bench")}})
	for _, r := range records {
		if err := h.Handle(context.Background(), r); err != nil {
			tb.Fatal(err)
		}
	}
	if err := h.Shutdown(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return out
}

type captureFormat struct {
	format slogotlp.WireFormat
	f      func([]byte)
}

func (c *captureFormat) WireFormat() slogotlp.WireFormat { return c.format }
func (c *captureFormat) Export(_ context.Context, p []byte, _ int) slogotlp.Result {
	c.f(p)
	return slogotlp.Result{}
}
func (c *captureFormat) Shutdown(context.Context) error { return nil }

// variedRecords are n records like benchRecord whose values differ, as a
// service's do, so that gzip has real work.
func variedRecords(n int) []slog.Record {
	out := make([]slog.Record, n)
	base := time.Now()
	for i := range out {
		r := slog.NewRecord(base.Add(time.Duration(i)*time.Millisecond), slog.LevelInfo, "request handled", 0)
		r.AddAttrs(
			slog.Int("status", 200+i%5),
			slog.String("path", fmt.Sprintf("/api/v1/items/%d", i*7919%100000)),
			slog.Float64("ratio", float64(i%1000)/997),
			slog.Bool("cached", i%3 == 0),
			slog.Duration("latency", time.Duration(1000+i*37%50000)*time.Microsecond),
		)
		out[i] = r
	}
	return out
}

// BenchmarkWireBytes reports the bytes per record of a 256-record payload
// in each format, before and after gzip (BestSpeed, as HTTPExporter sends
// it), and times what the export goroutine adds per record for the format:
// framing the batch (protobuf as queued; JSON transcoded from it) and
// gzipping it. The records' values vary, so gzip is not flattered.
func BenchmarkWireBytes(b *testing.B) {
	records := variedRecords(256)
	for _, f := range []slogotlp.WireFormat{slogotlp.FormatJSON, slogotlp.FormatProtobuf} {
		b.Run(f.String(), func(b *testing.B) {
			ps := payloads(b, f, records)
			if len(ps) != 1 {
				b.Fatalf("%d payloads, want 1", len(ps))
			}
			var zb bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&zb, gzip.BestSpeed)
			_, _ = zw.Write(ps[0])
			_ = zw.Close()

			// The export side: a handler that frames every batch in f and
			// gzips it, fed 256 records then flushed per iteration.
			exp := &gzipDiscard{format: f}
			exp.zw, _ = gzip.NewWriterLevel(&exp.buf, gzip.BestSpeed)
			h := slogotlp.NewHandler(exp, &slogotlp.HandlerOptions{BatchSize: 256, MaxQueueSize: 4096, DropReportInterval: -1})
			defer h.Shutdown(context.Background())
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				for _, r := range records {
					_ = h.Handle(ctx, r)
				}
				if err := h.Flush(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(records)), "ns/record")
			// Set after the loop: ResetTimer deletes reported metrics.
			b.ReportMetric(float64(len(ps[0]))/float64(len(records)), "B/record")
			b.ReportMetric(float64(zb.Len())/float64(len(records)), "gzB/record")
			if s := h.Stats(); s.Dropped.Total() > 0 {
				b.Fatalf("dropped %d", s.Dropped.Total())
			}
		})
	}
}

// gzipDiscard compresses each payload, as HTTPExporter does, and drops it.
type gzipDiscard struct {
	format slogotlp.WireFormat
	buf    bytes.Buffer
	zw     *gzip.Writer
}

func (g *gzipDiscard) WireFormat() slogotlp.WireFormat { return g.format }
func (g *gzipDiscard) Export(_ context.Context, p []byte, _ int) slogotlp.Result {
	g.buf.Reset()
	g.zw.Reset(&g.buf)
	_, _ = g.zw.Write(p)
	_ = g.zw.Close()
	return slogotlp.Result{}
}
func (g *gzipDiscard) Shutdown(context.Context) error { return nil }

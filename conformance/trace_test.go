package conformance

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/soliplex/slogotlp"
)

// TestTraceCorrelation logs inside spans of a real OpenTelemetry SDK tracer,
// with no wiring beyond passing the span's context to slog: traceId and
// spanId come out as lowercase hex and flags carry the sampled bit, for
// sampled and unsampled spans alike.
func TestTraceCorrelation(t *testing.T) {
	tests := []struct {
		name    string
		sampler sdktrace.Sampler
		flags   plog.LogRecordFlags
	}{
		{"always sample", sdktrace.AlwaysSample(), 1},
		{"never sample", sdktrace.NeverSample(), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(tt.sampler))
			t.Cleanup(func() { require.NoError(t, tp.Shutdown(context.Background())) })
			ctx, span := tp.Tracer("conformance").Start(context.Background(), "op")
			sc := span.SpanContext()
			require.True(t, sc.IsValid(), "the SDK gives even an unsampled span a valid context")
			require.Equal(t, tt.flags == 1, sc.IsSampled())

			// The ERROR exports at once, with what was queued before it:
			// the records come in one payload or two, depending on when
			// the export goroutine runs. Check them all, however split.
			ls, wire := exportWire(t, nil, func(h *slogotlp.Handler) {
				logger := slog.New(h)
				logger.InfoContext(ctx, "in span")
				logger.With("k", "v").WithGroup("g").ErrorContext(ctx, "derived in span")
				logger.Info("no context")
				logger.InfoContext(context.Background(), "no span")
			})
			span.End()

			tid, sid := sc.TraceID().String(), sc.SpanID().String()
			// The Collector also takes upper-case hex, so check the wire form.
			assert.Contains(t, wire, `"traceId":"`+tid+`"`)
			assert.Contains(t, wire, `"spanId":"`+sid+`"`)
			assert.Regexp(t, `^[0-9a-f]{32}$`, tid)

			rs := records(ls)
			require.Len(t, rs, 4)
			for _, r := range rs[:2] {
				assert.Equal(t, tid, r.lr.TraceID().String(), r.lr.Body().Str())
				assert.Equal(t, sid, r.lr.SpanID().String(), r.lr.Body().Str())
				assert.Equal(t, tt.flags, r.lr.Flags(), r.lr.Body().Str())
			}
			for _, r := range rs[2:] {
				assert.True(t, r.lr.TraceID().IsEmpty(), r.lr.Body().Str())
				assert.True(t, r.lr.SpanID().IsEmpty(), r.lr.Body().Str())
				assert.Equal(t, plog.LogRecordFlags(0), r.lr.Flags())
			}
		})
	}
}

// TestRemoteSpanContext covers a span context that arrived from another
// process (no SDK span at all), as propagators leave it in the context.
func TestRemoteSpanContext(t *testing.T) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0xAB, 0xCD, 0xEF, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0xFF},
		SpanID:     trace.SpanID{0xFE, 0xDC, 0xBA, 9, 8, 7, 6, 5},
		TraceFlags: trace.FlagsSampled,
		Remote:     true,
	})
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), sc)
	r := one(t, nil, func(l *slog.Logger) { l.InfoContext(ctx, "m") })
	assert.Equal(t, "abcdef0102030405060708090a0b0cff", r.lr.TraceID().String())
	assert.Equal(t, "fedcba0908070605", r.lr.SpanID().String())
	assert.Equal(t, plog.LogRecordFlags(1), r.lr.Flags())

	// An invalid span context (zero ids) sets nothing.
	bad := trace.ContextWithSpanContext(context.Background(), trace.SpanContext{})
	r = one(t, nil, func(l *slog.Logger) { l.InfoContext(bad, "m") })
	assert.True(t, r.lr.TraceID().IsEmpty())
}

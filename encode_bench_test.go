//go:build !race

package slogotlp

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// identity is a ReplaceAttr that changes nothing: what it costs is the
// price of the option itself.
func identity(_ []string, a slog.Attr) slog.Attr { return a }

// fidelityOptions are the handler configurations the encoder benchmarks and
// allocation checks run: the defaults, ReplaceAttr, and attributes from the
// context.
func fidelityOptions() map[string]*HandlerOptions {
	static := []slog.Attr{slog.String("request.id", "r-1")}
	return map[string]*HandlerOptions{
		"plain":   nil,
		"replace": {ReplaceAttr: identity},
		"context": {AttrFromContext: []func(context.Context) []slog.Attr{func(context.Context) []slog.Attr { return static }}},
	}
}

// TestEncodeAllocsWithOptions: ReplaceAttr that returns its attribute
// unchanged, and AttrFromContext, keep encoding free of allocations, with
// and without bound attributes and groups (nested groups in the record
// too).
func TestEncodeAllocsWithOptions(t *testing.T) {
	ctx := context.Background()
	r := benchRecord()
	r.AddAttrs(slog.Group("g", slog.Int("a", 1), slog.Group("h", slog.String("b", "x"))))
	now := time.Now()
	buf := make([]byte, 0, 4096)
	for name, opts := range fidelityOptions() {
		h := NewHandler(discardExporter{}, opts)
		bound := h.WithAttrs([]slog.Attr{slog.String("svc", "api"), slog.Int("pid", 1)}).WithGroup("req").(*Handler)
		for shape, hh := range map[string]*Handler{"top": h, "bound": bound} {
			got := testing.AllocsPerRun(1000, func() { buf = hh.appendRecord(buf[:0], ctx, r, now) })
			if got != 0 {
				t.Errorf("%s/%s: encoding allocates %.2f times per record, want 0", name, shape, got)
			}
		}
		_ = h.Shutdown(ctx)
	}
}

// BenchmarkEncode measures encoding alone, on the caller's goroutine, with
// no batcher in the measurement: the steadiest number on a busy machine.
func BenchmarkEncode(b *testing.B) {
	ctx := context.Background()
	r := benchRecord()
	now := time.Now()
	for _, name := range []string{"plain", "replace", "context"} {
		h := NewHandler(discardExporter{}, fidelityOptions()[name])
		bound := h.WithAttrs([]slog.Attr{slog.String("svc", "api"), slog.Int("pid", 1)}).WithGroup("req").(*Handler)
		for _, shape := range []string{"top", "bound"} {
			hh := map[string]*Handler{"top": h, "bound": bound}[shape]
			b.Run(name+"/"+shape, func(b *testing.B) {
				b.ReportAllocs()
				buf := make([]byte, 0, 4096)
				for b.Loop() {
					buf = hh.appendRecord(buf[:0], ctx, r, now)
				}
			})
		}
		_ = h.Shutdown(ctx)
	}
}

// BenchmarkHandleReplaceAttr is BenchmarkHandle's slogotlp cases with an
// identity ReplaceAttr.
func BenchmarkHandleReplaceAttr(b *testing.B) {
	ctx := context.Background()
	r := benchRecord()
	h := NewHandler(discardExporter{}, &HandlerOptions{ReplaceAttr: identity})
	defer h.Shutdown(ctx)
	for _, tc := range []struct {
		name string
		h    slog.Handler
	}{
		{"plain", h},
		{"bound", h.WithAttrs([]slog.Attr{slog.String("svc", "api"), slog.Int("pid", 1)}).WithGroup("req")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = tc.h.Handle(ctx, r)
			}
		})
	}
}

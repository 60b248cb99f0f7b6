package slogotlp

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkRedactor measures the redactor alone on benchLog's records: the
// clean one (the cost every record pays) and the one with PII.
func BenchmarkRedactor(b *testing.B) {
	ctx := context.Background()
	h := Redact(nil)(slog.DiscardHandler).WithAttrs([]slog.Attr{slog.String("service", "api")})
	clean := slog.NewRecord(time.Now(), slog.LevelInfo, "request handled", 0)
	clean.AddAttrs(slog.String("method", "GET"), slog.String("path", "/api/v1/items"),
		slog.Int("status", 200), slog.Duration("took", time.Millisecond))
	pii := slog.NewRecord(time.Now(), slog.LevelInfo, "login for jane@example.com", 0)
	pii.AddAttrs(slog.String("method", "POST"), slog.String("client", "203.0.113.9"),
		slog.Int("status", 401), slog.String("password", "x"))
	for _, tc := range []struct {
		name string
		r    slog.Record
	}{{"clean", clean}, {"pii", pii}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = h.Handle(ctx, tc.r)
			}
		})
	}
}

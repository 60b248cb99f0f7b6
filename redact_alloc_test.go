//go:build !race

package slogotlp

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// TestRedactAllocs pins the clean path: a record of plain kinds that holds
// nothing to redact passes Redact(nil) without an allocation, with or
// without bound attributes, whatever its strings look like (paths, ids,
// versions, user agents, JSON without secrets, key=value text with clean
// keys).
func TestRedactAllocs(t *testing.T) {
	ctx := context.Background()
	h := Redact(nil)(slog.DiscardHandler)
	bound := h.WithAttrs([]slog.Attr{slog.String("service", "api"), slog.Int("pid", 1)})
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "request handled in 12ms", 0)
	r.AddAttrs(slog.String("method", "GET"), slog.String("path", "/api/v1/items/42"), slog.Int("status", 200),
		slog.Float64("ratio", 0.25), slog.Bool("cached", true), slog.Duration("took", time.Millisecond),
		slog.Time("at", time.Now()), slog.Uint64("bytes", 1234),
		slog.String("ua", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0.0.0 Safari/537.36"),
		slog.String("trace", "4bf92f3577b34da6a3ce929d0e0e4736"), slog.String("id", "550e8400-e29b-41d4-a716-446655440000"),
		slog.String("module", "github.com/samber/slog-multi@v1.7.1"), slog.String("kv", "user_id=42 retries=3"),
		slog.String("json", `{"user_id":42,"ok":true}`))
	for name, hh := range map[string]slog.Handler{"plain": h, "bound": bound} {
		if got := testing.AllocsPerRun(1000, func() { _ = hh.Handle(ctx, r) }); got != 0 {
			t.Errorf("%s: a clean record allocates %.2f times, want 0", name, got)
		}
	}
}

package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/soliplex/slogotlp"
)

func main() {
	h := slogotlp.NewHandler(slogotlp.NewWriterExporter(os.Stdout, true), &slogotlp.HandlerOptions{
		Resource: []slog.Attr{slog.String("service.name", "quickstart")},
	})
	logger := slog.New(h)
	logger.Info("user signed in", "user_id", 42, "plan", "pro", "latency", 12*time.Millisecond)
	logger.WithGroup("http").Warn("slow request", "method", "GET", "path", "/api/items", "status", 200)
	logger.Error("payment failed", "err", errors.New("card declined"), "amount", 19.99)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		slog.New(slog.NewTextHandler(os.Stderr, nil)).Error("shutdown", "err", err)
	}
}

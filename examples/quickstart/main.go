//go:build !js && !wasip1

// Command quickstart shows slogotlp in a program: configuration from the
// environment, a few records, and a flush on the way out.
//
// With nothing configured it prints each OTLP JSON payload it would send to
// stdout, so it runs with no account (a service left unconfigured prints
// readable lines on stderr instead; the quickstart asks for the JSON with
// Config.Fallback):
//
//	go run ./examples/quickstart
//
// To send to Logfire, set a write token; to send to an OpenTelemetry
// Collector (or any OTLP/HTTP receiver), set the standard endpoint:
//
//	LOGFIRE_TOKEN=pylf_v1_us_... go run ./examples/quickstart
//	OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=http://localhost:4318/v1/logs go run ./examples/quickstart
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
	h, err := slogotlp.NewFromEnv(&slogotlp.Config{
		ServiceName: "quickstart",
		// With no destination configured, show the OTLP JSON that would be
		// sent, pretty-printed for reading.
		Fallback: slogotlp.NewWriterExporter(os.Stdout, true),
	})
	if err != nil {
		// A bad variable names itself in err; start without export rather
		// than fail.
		logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
		logger.Error("log export is off", "err", err)
		run(context.Background(), logger)
		return
	}
	// ctx ends on SIGINT/SIGTERM; shutdown flushes within 5s on the way out,
	// so the last records reach the receiver, and says on stderr what was
	// lost, if anything.
	ctx, shutdown := h.NotifyShutdown(5 * time.Second)
	defer shutdown()
	run(ctx, slog.New(h))
}

// run is the program's work. A service would run until ctx ends; the
// quickstart logs a few records and returns, and the deferred shutdown
// exports what is still queued.
func run(ctx context.Context, logger *slog.Logger) {
	logger.InfoContext(ctx, "user signed in", "user_id", 42, "plan", "pro", "latency", 12*time.Millisecond)
	logger.WithGroup("http").WarnContext(ctx, "slow request", "method", "GET", "path", "/api/items", "status", 200)
	logger.ErrorContext(ctx, "payment failed", "err", errors.New("card declined"), "amount", 19.99)
}

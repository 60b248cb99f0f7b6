// Command fanout sends every record to two places at once: a text handler on
// stderr for the person at the terminal, and slogotlp for the backend, with
// redaction and sampling in front of the exported copy only.
//
//	go run ./examples/fanout                     # the exported copy's OTLP JSON on stdout
//	LOGFIRE_TOKEN=pylf_v1_us_... go run ./examples/fanout
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	slogmulti "github.com/samber/slog-multi"

	"github.com/soliplex/slogotlp"
)

func main() {
	// With nothing configured, show the exported copy as the OTLP JSON it
	// would be sent as (by default it would be printed as readable lines
	// on stderr, next to the text handler's).
	cfg := &slogotlp.Config{Fallback: slogotlp.NewWriterExporter(os.Stdout, false)}
	if err := run(os.Stderr, cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run builds the fan-out, logs a little, and flushes. cfg says where the
// exported copy goes (the environment by default); console gets the text.
func run(console io.Writer, cfg *slogotlp.Config) error {
	cfg.ServiceName = "fanout"
	cfg.HandlerOptions.Level = slog.LevelDebug
	otlp, err := slogotlp.NewFromEnv(cfg)
	if err != nil {
		return fmt.Errorf("configuring export: %w", err)
	}

	// Keep one DEBUG record in ten for export (ERRORs are always kept); the
	// seed makes the run reproducible.
	sampler := slogotlp.NewSampler(&slogotlp.SampleOptions{
		Rates: map[slog.Level]float64{slog.LevelDebug: 0.1},
		Seed:  42,
	})
	logger := slog.New(slogmulti.Fanout(
		slog.NewTextHandler(console, &slog.HandlerOptions{Level: slog.LevelDebug}),
		// Redact first, so nothing sampled in leaves with PII in it.
		slogmulti.Pipe(slogotlp.Redact(nil), sampler.Middleware()).Handler(otlp),
	))

	for i := range 20 {
		logger.Debug("cache lookup", "key", fmt.Sprintf("user:%d", i))
	}
	logger.Info("password reset requested", "email", "jane@example.com")
	logger.Error("payment failed", "card", "4111 1111 1111 1111", "err", fmt.Errorf("card declined"))

	if err := otlp.Shutdown(context.Background()); err != nil {
		return fmt.Errorf("flushing: %w", err)
	}
	st, ss := otlp.Stats(), sampler.Stats()
	fmt.Fprintf(console, "exported %d records, sampler dropped %d of %d, export dropped %d\n",
		st.Exported, ss.Dropped(), ss.Seen, st.Dropped.Total())
	return nil
}

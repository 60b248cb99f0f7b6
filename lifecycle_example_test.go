//go:build !js && !wasip1

package slogotlp_test

import (
	"context"
	"log"
	"log/slog"
	"time"

	"github.com/soliplex/slogotlp"
)

// The start-up sequence of the package documentation, word for word. It is
// compiled, not run: it waits for SIGINT or SIGTERM.
func Example_startUp() {
	run := func(ctx context.Context) { <-ctx.Done() }

	h, err := slogotlp.NewFromEnv(&slogotlp.Config{ServiceName: "checkout"})
	if err != nil {
		log.Fatal(err) // names the bad variable
	}
	ctx, shutdown := h.NotifyShutdown(5 * time.Second)
	defer shutdown()
	slog.SetDefault(slog.New(h))
	run(ctx) // the program's work
}

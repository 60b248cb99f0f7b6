// Package bench measures slogotlp against log/slog's JSON handler and the
// official OpenTelemetry stack (the otelslog bridge over sdk/log). It is a
// nested module so that those dependencies stay out of the library's
// go.mod. The end-to-end harness is cmd/e2e (a tight loop) and cmd/paced
// (a steady rate, searching for the highest without loss); run.sh runs
// everything.
package bench

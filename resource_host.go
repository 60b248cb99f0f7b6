//go:build !js && !wasip1

package slogotlp

import (
	"log/slog"
	"os"
)

// platformResource adds what a real operating system can tell.
func platformResource() []slog.Attr {
	attrs := []slog.Attr{slog.Int("process.pid", os.Getpid())}
	if h, err := os.Hostname(); err == nil && h != "" {
		attrs = append(attrs, slog.String("host.name", h))
	}
	return attrs
}

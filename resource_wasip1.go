//go:build wasip1

package slogotlp

import "log/slog"

// platformResource: a WASI module has no host name or process id to report.
func platformResource() []slog.Attr { return nil }

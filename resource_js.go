//go:build js

package slogotlp

import (
	"log/slog"
	"syscall/js"
)

// platformResource reports the browser's attributes (OpenTelemetry's
// browser.* conventions) when a navigator object exists; under Node.js there
// is none, and nothing is added.
func platformResource() []slog.Attr {
	nav := js.Global().Get("navigator")
	if nav.IsUndefined() || nav.IsNull() {
		return nil
	}
	var attrs []slog.Attr
	for _, p := range [][2]string{{"userAgent", "user_agent.original"}, {"language", "browser.language"}, {"platform", "browser.platform"}} {
		if v := nav.Get(p[0]); v.Type() == js.TypeString && v.String() != "" {
			attrs = append(attrs, slog.String(p[1], v.String()))
		}
	}
	return attrs
}

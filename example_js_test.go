//go:build js

package slogotlp_test

import (
	"log/slog"
	"syscall/js"

	"github.com/soliplex/slogotlp"
)

// A Go program in the browser posts to the relay that served its page with
// the user's session JWT, and sends what is queued whenever the tab is
// hidden or left. It has no Output: it needs a page (examples/wasm runs it
// in headless Chromium in its test).
func ExampleHandler_FlushOnPageHide() {
	jwt := js.Global().Get("document").Call("querySelector", `meta[name="slogotlp-session"]`).Get("content").String()
	exp, err := slogotlp.NewProxyExporter("/api/v1/telemetry/logs", jwt, nil)
	if err != nil {
		js.Global().Get("console").Call("error", err.Error())
		return
	}
	h := slogotlp.NewHandler(exp, nil)
	h.FlushOnPageHide()
	slog.SetDefault(slog.New(h))

	slog.Info("page opened")
	select {} // main must not return while the page lives
}

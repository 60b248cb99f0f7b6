//go:build js

// Command wasm is a Go program for the browser (GOOS=js GOARCH=wasm) that
// logs through slogotlp without holding the Logfire write token: it posts
// to the relay on its own origin, /api/v1/telemetry/logs, with the session
// JWT the page was served with, and flushes when the page is hidden.
//
// Build it and serve it with the server next to it:
//
//	go run ./server -addr 127.0.0.1:8080
//
// which compiles this program, serves it with index.html and wasm_exec.js,
// mounts the relay, and prints what the relay forwards.
package main

import (
	"fmt"
	"log/slog"
	"strconv"
	"syscall/js"

	"github.com/soliplex/slogotlp"
)

// sessionMeta is the <meta> tag that carries the session JWT; the server
// fills it in when it serves the page.
const sessionMeta = `meta[name="slogotlp-session"]`

func main() {
	doc := js.Global().Get("document")
	meta := doc.Call("querySelector", sessionMeta)
	if meta.IsNull() {
		fail("no " + sessionMeta + " tag: serve the page with the example's server")
		return
	}
	exp, err := slogotlp.NewProxyExporter("/api/v1/telemetry/logs", meta.Get("content").String(), nil)
	if err != nil {
		fail(err.Error())
		return
	}
	h := slogotlp.NewHandler(exp, &slogotlp.HandlerOptions{
		Resource: []slog.Attr{slog.String("service.name", "wasm-example")},
		OnError: func(err error) {
			js.Global().Get("console").Call("error", "slogotlp: "+err.Error())
		},
	})
	// Records stay queued (30 s timer, 256-record batches) until the page is
	// hidden or left; then they are flushed.
	h.FlushOnPageHide()

	query := js.Global().Get("URLSearchParams").New(js.Global().Get("location").Get("search"))
	run := query.Call("get", "run")
	logger := slog.New(h)
	if !run.IsNull() {
		logger = logger.With("run", run.String())
	}

	logN := func(n int) {
		for i := range n {
			logger.Info("hello from the browser", "i", i, "go_os", "js")
		}
	}
	// logMore lets the page (or a test) log more records later.
	js.Global().Set("slogotlpLog", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) > 0 && args[0].Type() == js.TypeNumber {
			logN(args[0].Int())
		}
		return nil
	}))
	js.Global().Set("slogotlpStats", js.FuncOf(func(js.Value, []js.Value) any {
		s := h.Stats()
		return map[string]any{"handled": s.Handled, "exported": s.Exported, "queued": s.Queued, "dropped": s.Dropped.Total()}
	}))

	n := 5
	if v := query.Call("get", "n"); !v.IsNull() {
		if p, err := strconv.Atoi(v.String()); err == nil && p >= 0 {
			n = p
		}
	}
	logN(n)
	setStatus("logged", fmt.Sprintf("logged %d records; they are sent when this tab is hidden", n))

	// A Go program that returns from main ends, and with it the handler and
	// the listeners: stay alive for the page's lifetime.
	select {}
}

func setStatus(state, text string) {
	el := js.Global().Get("document").Call("getElementById", "status")
	if el.IsNull() {
		return
	}
	el.Set("textContent", text)
	el.Get("dataset").Set("state", state)
}

func fail(msg string) {
	js.Global().Get("console").Call("error", msg)
	setStatus("error", msg)
}

//go:build js

package slogotlp

import (
	"context"
	"sync"
	"syscall/js"
	"time"
)

// pageHideFlushTimeout bounds one flush started by FlushOnPageHide, so a
// dead network cannot keep a flush goroutine per hide event alive.
const pageHideFlushTimeout = 30 * time.Second

// FlushOnPageHide is the lifecycle for a page in the browser (GOOS=js): a
// page is not told when it is about to die, only when it stops being seen,
// so that is when queued records must leave. It registers two listeners:
//
//   - visibilitychange on document: when document.hidden becomes true (the
//     user switches tab or app, minimises, locks the screen, or closes the
//     tab), every queued record is flushed. Browsers fire it before a page
//     is unloaded, on desktop and mobile, so it is the dependable one.
//   - pagehide on window: a best-effort flush as the page is navigated away
//     from or put into the back/forward cache.
//
// beforeunload is deliberately not used: it is not fired reliably on mobile
// and a listener for it keeps some browsers from caching the page.
//
// Each event starts h.Flush on a new goroutine and returns at once, because
// an export in the browser waits for a fetch promise, which can only settle
// after the event callback has returned to JavaScript. Go runs every ready
// goroutine before it hands control back to JavaScript, so when no export is
// already in flight the fetch is started before the event's dispatch ends.
// Go's fetch transport does not set fetch's keepalive flag, so a request
// still in flight when the page is torn down may be cancelled by the
// browser, and a tab killed abruptly (a crash, the OS reclaiming a
// background tab) loses whatever was still queued. The visibilitychange
// flush comes first and is the one to rely on.
//
// Outside a page (Node.js, a web worker) there is no document and nothing is
// registered. The returned stop removes the listeners; it is safe to call
// more than once. Call it before h.Shutdown if the handler is shut down
// while the page lives on.
func (h *Handler) FlushOnPageHide() (stop func()) {
	global := js.Global()
	doc := global.Get("document")
	if doc.Type() != js.TypeObject || global.Get("addEventListener").Type() != js.TypeFunction {
		return func() {}
	}
	flush := func() {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), pageHideFlushTimeout)
			defer cancel()
			// Export errors go to OnError; a timed-out flush leaves the
			// records queued for the next flush or the timer.
			_ = h.Flush(ctx)
		}()
	}
	onVisibility := js.FuncOf(func(js.Value, []js.Value) any {
		if doc.Get("hidden").Truthy() {
			flush()
		}
		return nil
	})
	onPageHide := js.FuncOf(func(js.Value, []js.Value) any {
		flush()
		return nil
	})
	doc.Call("addEventListener", "visibilitychange", onVisibility)
	global.Call("addEventListener", "pagehide", onPageHide)
	var once sync.Once
	return func() {
		once.Do(func() {
			doc.Call("removeEventListener", "visibilitychange", onVisibility)
			global.Call("removeEventListener", "pagehide", onPageHide)
			onVisibility.Release()
			onPageHide.Release()
		})
	}
}

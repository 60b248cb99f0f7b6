package slogotlp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// WriterExporter writes each payload as one line of OTLP JSON to an
// io.Writer. It is the no-account default: what the quickstart prints, what
// the Examples show, and a way to see exactly what would be sent.
type WriterExporter struct {
	mu     sync.Mutex
	w      io.Writer
	indent bool
	buf    bytes.Buffer
}

// NewWriterExporter returns an exporter that writes payloads to w, one line
// each. With indent, each payload is pretty-printed instead, for reading.
func NewWriterExporter(w io.Writer, indent bool) *WriterExporter {
	return &WriterExporter{w: w, indent: indent}
}

// Export writes payload and a newline. A write error is fatal: a writer that
// failed once (a closed pipe) is not expected to recover.
func (e *WriterExporter) Export(_ context.Context, payload []byte, _ int) Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.buf.Reset()
	if e.indent {
		if err := json.Indent(&e.buf, payload, "", "  "); err != nil {
			return Result{Outcome: ExportRejected, Err: fmt.Errorf("slogotlp: payload is not valid JSON: %w", err)}
		}
	} else {
		e.buf.Write(payload)
	}
	e.buf.WriteByte('\n')
	if _, err := e.w.Write(e.buf.Bytes()); err != nil {
		return Result{Outcome: ExportFatal, Err: fmt.Errorf("slogotlp: writing payload: %w", err)}
	}
	return Result{}
}

// Shutdown does nothing: the writer belongs to the caller.
func (e *WriterExporter) Shutdown(context.Context) error { return nil }

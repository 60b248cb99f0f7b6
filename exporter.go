package slogotlp

import (
	"context"
	"time"
)

// An Exporter carries encoded OTLP payloads to a receiver.
//
// Exporters own transport only: the handler's batcher decides what goes in a
// payload, when to send it and whether to retry. The batcher calls Export and
// Shutdown from a single goroutine, never concurrently.
//
// Payloads are OTLP/JSON unless the exporter also has a method
//
//	WireFormat() WireFormat
//
// returning FormatProtobuf, as HTTPExporter does when asked to.
type Exporter interface {
	// Export sends one payload: a complete ExportLogsServiceRequest
	// ({"resourceLogs":[...]} in JSON) holding records log records. The
	// payload is only valid during the call. ctx carries the export
	// timeout.
	Export(ctx context.Context, payload []byte, records int) Result

	// Shutdown releases the exporter's resources. Export is not called after it.
	Shutdown(ctx context.Context) error
}

// Outcome says what became of one export attempt.
type Outcome int

const (
	// ExportSuccess: the receiver took the payload (see Result.Rejected for a
	// partial success).
	ExportSuccess Outcome = iota
	// ExportRetryable: a transient failure (429, 5xx, a network error); the batcher
	// sends the same payload again after a backoff.
	ExportRetryable
	// ExportFatal: the receiver will never take our data (bad credentials); the
	// handler disables export and reports the error through OnError.
	ExportFatal
	// ExportTooLarge: the receiver refused the payload for its size (HTTP 413); the
	// batcher splits the batch in halves and sends each again.
	ExportTooLarge
	// ExportRejected: the receiver refused this payload (another 4xx); the batch is
	// dropped and reported, and export stays on.
	ExportRejected
)

// String returns the outcome's lower-case name.
func (o Outcome) String() string {
	switch o {
	case ExportSuccess:
		return "success"
	case ExportRetryable:
		return "retryable"
	case ExportFatal:
		return "fatal"
	case ExportTooLarge:
		return "too large"
	case ExportRejected:
		return "rejected"
	}
	return "unknown"
}

// Result is the report of one Export call.
type Result struct {
	Outcome Outcome
	// RetryAfter is the receiver's requested delay (a Retry-After header) for
	// an ExportRetryable outcome; zero means the batcher's own backoff applies.
	RetryAfter time.Duration
	// Rejected counts records the receiver refused inside an ExportSuccess (an OTLP
	// partialSuccess); they are counted as dropped.
	Rejected int64
	// Offline reports that the receiver could not be reached at all
	// (connection refused, DNS failure, no route), as opposed to answering
	// with an error. The batcher then probes with backoff instead of retrying
	// a fixed number of times.
	Offline bool
	// Err describes a failure, or the message of a partial success. It never
	// contains credentials.
	Err error
}

// discardExporter accepts everything; NewHandler uses it for a nil Exporter.
type discardExporter struct{}

func (discardExporter) Export(context.Context, []byte, int) Result { return Result{} }

func (discardExporter) Shutdown(context.Context) error { return nil }

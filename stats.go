package slogotlp

import "errors"

// Errors Handle returns when it does not accept a record. Each such record is
// counted in Stats, so callers may ignore them; slogmulti.Failover uses them
// to route around a handler that cannot export.
var (
	// ErrShutdown: the handler was shut down.
	ErrShutdown = errors.New("slogotlp: handler is shut down; records logged after Shutdown are dropped")
	// ErrExportFailed: a fatal export error (bad credentials, see OnError)
	// switched export off for good.
	ErrExportFailed = errors.New("slogotlp: export stopped after a fatal error; see the error reported to OnError")
	// ErrPaused: export is switched off with SetEnabled(false).
	ErrPaused = errors.New("slogotlp: export is switched off (SetEnabled(false)); records are dropped until it is on again")
	// ErrQueueFull: the queue was full and held nothing of lower severity to
	// drop in the record's place.
	ErrQueueFull = errors.New("slogotlp: queue full; raise MaxQueueSize or lower the log volume")
	// ErrTooLarge: the encoded record alone exceeds MaxPayloadBytes.
	ErrTooLarge = errors.New("slogotlp: record exceeds MaxPayloadBytes; shorten its attributes or raise the limit")
)

// dropReason says why records were dropped.
type dropReason int

// The reasons a record can be dropped; see DropCounts.
const (
	dropQueueFull dropReason = iota
	dropFatal
	dropPaused
	dropRetriesExhausted
	dropTooLarge
	dropRejected
	dropShutdown
	numDropReasons
)

var dropReasonNames = [numDropReasons]string{"queue_full", "fatal", "paused", "retries_exhausted", "too_large", "rejected", "shutdown"}

// String returns the reason's snake_case name, as used in drop reports.
func (r dropReason) String() string {
	if r < 0 || r >= numDropReasons {
		return "unknown"
	}
	return dropReasonNames[r]
}

// DropCounts counts dropped records by reason.
type DropCounts struct {
	// QueueFull: evicted by the overflow policy, or refused for lack of room.
	QueueFull uint64
	// Fatal: logged after a fatal export error switched export off, or
	// still queued (or in flight) when it did.
	Fatal uint64
	// Paused: logged while export was switched off with SetEnabled(false).
	Paused uint64
	// RetriesExhausted: a batch still failed when MaxRetryTime ran out.
	RetriesExhausted uint64
	// TooLarge: a record larger than MaxPayloadBytes, or one the receiver
	// refused with 413 even alone.
	TooLarge uint64
	// Rejected: refused by the receiver (a 4xx, or a partial success).
	Rejected uint64
	// Shutdown: logged after Shutdown, or still queued when its context ended.
	Shutdown uint64
}

// Total returns the sum over all reasons.
func (d DropCounts) Total() uint64 {
	return d.QueueFull + d.Fatal + d.Paused + d.RetriesExhausted + d.TooLarge + d.Rejected + d.Shutdown
}

// count returns the counter for reason r.
func (d *DropCounts) count(r dropReason) *uint64 {
	switch r {
	case dropQueueFull:
		return &d.QueueFull
	case dropFatal:
		return &d.Fatal
	case dropPaused:
		return &d.Paused
	case dropRetriesExhausted:
		return &d.RetriesExhausted
	case dropTooLarge:
		return &d.TooLarge
	case dropRejected:
		return &d.Rejected
	}
	return &d.Shutdown
}

// minus returns the counts in d that are not in since.
func (d DropCounts) minus(since DropCounts) DropCounts {
	for r := range numDropReasons {
		*d.count(r) -= *since.count(r)
	}
	return d
}

// Stats is a consistent snapshot of a handler's counters. They always add
// up: Handled == Exported + Dropped.Total() + Queued.
type Stats struct {
	// Handled counts records passed to Handle.
	Handled uint64
	// Exported counts records the receiver accepted.
	Exported uint64
	// Dropped counts records lost, by reason.
	Dropped DropCounts
	// Queued counts records waiting or in an export under way.
	Queued uint64
	// ExportAttempts counts calls to the exporter; Retries those that
	// repeated a failed one.
	ExportAttempts, Retries uint64
	// Offline reports that the receiver could not be reached at the last
	// attempt; the handler probes with backoff until it answers.
	Offline bool
	// Fatal reports that a fatal export error switched export off for good
	// (see OnError).
	Fatal bool
	// Paused reports that export is switched off with SetEnabled(false).
	Paused bool
}

// dropLocked counts n records as dropped. b.mu must be held.
func (b *batcher) dropLocked(r dropReason, n int) {
	*b.st.Dropped.count(r) += uint64(n)
}

func (b *batcher) stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.st
	s.Queued = uint64(b.queued + b.inflight)
	s.Fatal = b.disabled.Load()
	s.Paused = b.paused.Load()
	return s
}

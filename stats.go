package slogotlp

import "errors"

// Errors Handle returns when it does not accept a record. Each such record is
// counted in Stats, so callers may ignore them; slogmulti.Failover uses them
// to route around a handler that cannot export.
var (
	// ErrShutdown: the handler was shut down.
	ErrShutdown = errors.New("slogotlp: handler is shut down; records logged after Shutdown are dropped")
	// ErrExportDisabled: the exporter failed fatally (see OnError) or export
	// was switched off with SetEnabled(false).
	ErrExportDisabled = errors.New("slogotlp: export is disabled; see the error reported to OnError")
	// ErrQueueFull: the queue was full and held nothing of lower severity to
	// drop in the record's place.
	ErrQueueFull = errors.New("slogotlp: queue full; raise MaxQueueSize or lower the log volume")
	// ErrTooLarge: the encoded record alone exceeds MaxPayloadBytes.
	ErrTooLarge = errors.New("slogotlp: record exceeds MaxPayloadBytes; shorten its attributes or raise the limit")
)

// DropReason says why records were dropped.
type DropReason int

// The reasons a record can be dropped; see DropCounts.
const (
	DropQueueFull DropReason = iota
	DropDisabled
	DropRetriesExhausted
	DropTooLarge
	DropRejected
	DropShutdown
	numDropReasons
)

var dropReasonNames = [numDropReasons]string{"queue_full", "disabled", "retries_exhausted", "too_large", "rejected", "shutdown"}

// String returns the reason's snake_case name, as used in drop reports.
func (r DropReason) String() string {
	if r < 0 || r >= numDropReasons {
		return "unknown"
	}
	return dropReasonNames[r]
}

// DropCounts counts dropped records by reason.
type DropCounts struct {
	// QueueFull: evicted by the overflow policy, or refused for lack of room.
	QueueFull uint64
	// Disabled: logged after a fatal export error, while export was switched
	// off, or still queued when a fatal error disabled export.
	Disabled uint64
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
	return d.QueueFull + d.Disabled + d.RetriesExhausted + d.TooLarge + d.Rejected + d.Shutdown
}

// count returns the counter for reason r.
func (d *DropCounts) count(r DropReason) *uint64 {
	switch r {
	case DropQueueFull:
		return &d.QueueFull
	case DropDisabled:
		return &d.Disabled
	case DropRetriesExhausted:
		return &d.RetriesExhausted
	case DropTooLarge:
		return &d.TooLarge
	case DropRejected:
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
	// Disabled reports that a fatal error switched export off.
	Disabled bool
}

// dropLocked counts n records as dropped. b.mu must be held.
func (b *batcher) dropLocked(r DropReason, n int) {
	*b.st.Dropped.count(r) += uint64(n)
}

func (b *batcher) stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.st
	s.Queued = uint64(b.queued + b.inflight)
	s.Disabled = b.disabled.Load()
	return s
}

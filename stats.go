package slogotlp

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

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
	dropSpoolFailed
	numDropReasons
)

var dropReasonNames = [numDropReasons]string{"queue_full", "fatal", "paused", "retries_exhausted", "too_large", "rejected", "shutdown", "spool_failed"}

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
	// SpoolFailed: bound for the disk spool (HandlerOptions.SpoolDir), which
	// could not take them: the disk refused the write (full, read-only; the
	// error went to OnError), or the spool's bound was full of records of a
	// higher severity.
	SpoolFailed uint64
}

// Total returns the sum over all reasons.
func (d DropCounts) Total() uint64 {
	return d.QueueFull + d.Fatal + d.Paused + d.RetriesExhausted + d.TooLarge + d.Rejected + d.Shutdown + d.SpoolFailed
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
	case dropSpoolFailed:
		return &d.SpoolFailed
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
// up: Handled == Exported + Dropped.Total() + Queued + Spooled. Each record
// handled in this run is in exactly one of those: delivered, lost (by
// reason), still in memory, or moved to the disk spool.
//
// The spool's traffic to the receiver is counted apart, in Restored,
// RestoreRejected, SpoolEvicted and SpoolCorrupt: the payloads restored may
// have been written by an earlier run, or by another process sharing the
// directory, so they are not part of this run's Handled.
type Stats struct {
	// Handled counts records passed to Handle.
	Handled uint64
	// Exported counts records the receiver accepted.
	Exported uint64
	// Dropped counts records lost, by reason.
	Dropped DropCounts
	// Queued counts records waiting or in an export under way (or being
	// written to the spool).
	Queued uint64
	// Spooled counts records of this run moved to the disk spool
	// (HandlerOptions.SpoolDir) instead of being dropped: they are sent
	// when the receiver answers again, by this run or the next.
	Spooled uint64
	// ExportAttempts counts calls to the exporter; Retries those that
	// repeated a failed one.
	ExportAttempts, Retries uint64
	// Offline reports that the receiver could not be reached at the last
	// attempt; the handler probes with backoff until it answers.
	Offline bool
	// Failing reports that the last attempt failed in another way that is
	// retried (a timeout, a TLS failure, a 429 or 5xx answer).
	Failing bool
	// Fatal reports that a fatal export error switched export off for good
	// (see OnError).
	Fatal bool
	// Paused reports that export is switched off with SetEnabled(false).
	Paused bool

	// Restored counts records sent from the spool that the receiver took,
	// whichever run spooled them. RestoreRejected counts those it refused
	// (a 4xx, a fatal error, a partial success: Logfire, for one, rejects
	// records more than 24 hours old); they are removed from the spool.
	Restored, RestoreRejected uint64
	// SpoolEvicted counts records removed from the spool unsent: to make
	// room for newer ones within SpoolMaxBytes (the lowest severity and the
	// oldest first), or older than SpoolMaxAge; OnError hears of them.
	// SpoolCorrupt counts spool files found torn or corrupt (their checksum
	// failed) and removed; their records cannot be counted.
	SpoolEvicted, SpoolCorrupt uint64
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
	s.Offline = b.health == healthOffline
	s.Failing = b.health == healthFailing
	s.Fatal = b.disabled.Load()
	s.Paused = b.paused.Load()
	if b.spool != nil {
		c := b.spool.counts()
		s.SpoolEvicted += c.Evicted
		s.SpoolCorrupt = c.Corrupt
	}
	return s
}

// DeliveryError is the error Shutdown returns when records were lost over
// the handler's life: how many, why, and the last failure that lost some.
// Records dropped while export was switched off with SetEnabled(false) do
// not count: that was asked for. It wraps Cause and, when Shutdown's
// context ended before the queue drained, the context's error.
type DeliveryError struct {
	// Handled and Dropped are the handler's counts when Shutdown finished.
	Handled uint64
	Dropped DropCounts
	// Cause is the last export failure that dropped records, or nil when
	// only the queue overflowed.
	Cause  error
	ctxErr error
}

// Error says how many records were lost, by reason, and the last cause, e.g.
// "slogotlp: 3 of 3 records dropped (shutdown 3): could not reach
// https://...: connection refused".
func (e *DeliveryError) Error() string {
	var sb strings.Builder
	lost := e.Dropped.Total() - e.Dropped.Paused
	fmt.Fprintf(&sb, "slogotlp: %d of %d records dropped (", lost, e.Handled)
	sep := ""
	for r := range numDropReasons {
		if n := *e.Dropped.count(r); n > 0 && r != dropPaused {
			fmt.Fprintf(&sb, "%s%s %d", sep, r, n)
			sep = ", "
		}
	}
	sb.WriteString("): ")
	switch {
	case e.Cause != nil:
		sb.WriteString(causeText(e.Cause))
	case e.ctxErr != nil:
		sb.WriteString("the queue was not drained when Shutdown's context ended: " + e.ctxErr.Error())
	case e.Dropped.QueueFull > 0:
		sb.WriteString("the queue was full: logging outpaced export (raise MaxQueueSize/MaxQueueBytes, or use OverflowBlock)")
	case e.Dropped.TooLarge > 0:
		sb.WriteString("records larger than MaxPayloadBytes")
	default:
		sb.WriteString("records logged after Shutdown")
	}
	return sb.String()
}

// Unwrap returns the cause and the context's error, when there are.
func (e *DeliveryError) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.Cause, e.ctxErr} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// causeText is err's message without the "slogotlp: " prefix, for an error
// that quotes it after its own.
func causeText(err error) string {
	if err == nil {
		return "no detail given"
	}
	return strings.TrimPrefix(err.Error(), "slogotlp: ")
}

// health is what the last export attempt said of the receiver.
type health uint8

const (
	healthOK      health = iota
	healthOffline        // not reached at all
	healthFailing        // reached, or not known to be unreachable, but failing
)

// failKind groups the errors OnError hears, for rate limiting: each kind is
// reported at most once per errorReportInterval, and the next report of the
// kind says how many were held back.
type failKind uint8

const (
	failDown         failKind = iota // the receiver became unreachable or started failing
	failUp                           // it answers again
	failGaveUp                       // a batch dropped after MaxRetryTime
	failRejected                     // a batch refused (4xx, an unfollowed redirect)
	failPartial                      // a partial success
	failTooLarge                     // a record too large to send
	failQueueFull                    // records dropped for lack of room
	failFatal                        // export stopped for good
	failShutdown                     // the exporter's Shutdown failed; records lost at Shutdown
	failSpool                        // the disk spool could not be opened, written or read
	failSpoolEvicted                 // spooled records removed unsent: for room, or too old
	numFailKinds
)

// errorReportInterval is the least time between two OnError calls of one
// kind, so that an outage is a few calls, not one per batch.
const errorReportInterval = time.Minute

// notifier holds OnError and its rate limits.
type notifier struct {
	onError func(error)
	last    [numFailKinds]time.Time
	held    [numFailKinds]int // reports held back since the last one
	// down is set while an outage that OnError heard of lasts, so that
	// recovery is reported exactly when the outage was.
	down bool
}

// stderrReporter is the OnError of a handler that has none: one line on w
// per report, so that a person sees failures without any setup.
func stderrReporter(w io.Writer) func(error) {
	return func(err error) {
		msg := strings.NewReplacer("\n", " ", "\r", " ").Replace(err.Error())
		_, _ = io.WriteString(w, msg+"\n")
	}
}

// readyToNotify reports whether a report of kind k would reach OnError now.
func (b *batcher) readyToNotify(k failKind) bool {
	b.nmu.Lock()
	defer b.nmu.Unlock()
	last := b.notes.last[k]
	return last.IsZero() || b.now().Sub(last) >= errorReportInterval
}

// notify passes err to OnError unless a report of the same kind went out
// less than errorReportInterval ago; it reports whether it did. Calls are
// serialised, and a panicking OnError is contained. It must not be called
// with b.mu held: OnError may log through the handler.
func (b *batcher) notify(k failKind, err error) bool {
	b.nmu.Lock()
	n := &b.notes
	now := b.now()
	switch {
	case k == failUp && !n.down:
		b.nmu.Unlock()
		return false // the outage was never reported: neither is its end
	case k != failUp && k != failShutdown && !n.last[k].IsZero() && now.Sub(n.last[k]) < errorReportInterval:
		n.held[k]++
		b.nmu.Unlock()
		return false
	}
	if held := n.held[k]; held > 0 {
		err = &heldBackError{err: err, held: held, since: errorReportInterval}
	}
	n.last[k], n.held[k] = now, 0
	switch k {
	case failDown:
		n.down = true
	case failUp:
		n.down = false
	}
	// Holding nmu during the call serialises OnError: it is never called
	// concurrently, and reports reach it in order.
	defer b.nmu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			_, _ = fmt.Fprintf(b.errOut, "slogotlp: OnError panicked: %v (reporting: %v)\n", r, err)
		}
	}()
	n.onError(err)
	return true
}

// heldBackError is a report that stands for others of its kind that were
// held back by the rate limit.
type heldBackError struct {
	err   error
	held  int
	since time.Duration
}

func (e *heldBackError) Error() string {
	return fmt.Sprintf("%s (and %d more like it within %v)", e.err.Error(), e.held, e.since)
}

func (e *heldBackError) Unwrap() error { return e.err }

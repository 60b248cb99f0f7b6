package slogotlp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// batcher owns the queue and the exporter. Handle appends under mu and pokes
// wake. One goroutine (run, the dispatcher) decides what is sent when: it
// hands batches to ConcurrentExports sender goroutines, which make every
// exporter call, retry, and settle each record.
type batcher struct {
	exp     Exporter
	opts    *HandlerOptions
	framing *framing // the payload format and its sizes
	scopes  *scopeRegistry
	// sendReport queues the handler's drop report, following its copies
	// with t; nil when reports are off.
	sendReport func(delta DropCounts, t *reportTicket)

	mu       sync.Mutex
	q        [numClasses]fifo
	queued   int    // records in q
	qbytes   int    // capacity of their buffers
	inflight int    // records taken by senders, not yet settled
	seq      uint64 // of the last record queued
	due      uint64 // records up to this seq are to be sent now
	st       Stats
	room     chan struct{} // closed when records leave the queue
	waiters  int           // Handle calls waiting for room
	stalled  bool          // a wait for room timed out; none waits again until room is made
	own      []uint64      // the handler's own goroutines
	retrying int           // senders between failed attempts
	health   health
	downAt   time.Time // when health left healthOK
	cause    error     // the last failure that dropped records
	// causeInStop: cause was noted after Shutdown began.
	causeInStop      bool
	noticedQueueFull uint64 // QueueFull when OnError last heard of it

	// The drop report's state, under rmu, a leaf lock: a report's copies
	// settle under other destinations' mu.
	rmu      sync.Mutex
	reported DropCounts  // the drops the delivered reports counted
	pending  *DropCounts // what the report under way counts, if one is

	closed   atomic.Bool
	disabled atomic.Bool
	paused   atomic.Bool

	wake     chan struct{}
	flushc   chan chan struct{}
	jobs     chan *job
	results  chan *job
	stopping chan struct{}
	abort    chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	// Set by the first Shutdown before stopping is closed.
	stopCtx      context.Context
	stopDeadline time.Time
	stopRelease  func() // releases stopCtx's resources
	stopErr      error  // Shutdown's result, set before done is closed
	ctx          context.Context
	cancel       context.CancelCauseFunc // cancels every export, at Shutdown's deadline
	abortOnce    sync.Once

	// OnError and its rate limits; nmu also serialises the calls.
	nmu    sync.Mutex
	notes  notifier
	errOut io.Writer // where the default OnError writes

	// The disk spool (spool_send.go, spool_restore.go); spool is nil
	// without one, and every use of it is behind that nil check.
	spool *spool
	// spoolRoot is SpoolDir made absolute, scrubbed from errors; spoolErr
	// says why the spool could not be opened, told to OnError by run.
	spoolRoot string
	spoolErr  error
	spoolFr   *framing // protobuf framing: every spooled payload is protobuf
	// staged is a batch the overflow policy moved out of the queue, under
	// mu, for spoolLoop to write; its records count in inflight.
	staged    []entry
	spoolWake chan struct{}
	// restoreDue asks the dispatcher to send spooled payloads before new
	// batches: at start, and when the receiver answers again. restoring
	// says it does (the overflow policy then spools too).
	restoreDue, restoring atomic.Bool
	// skipped: payloads restored in vain for MaxRetryTime, not tried again
	// in this run; under mu.
	skipped map[string]bool
	// spooledAtStop is Stats.Spooled when Shutdown began.
	spooledAtStop uint64
	// evictReported is the spool's eviction count already told to OnError.
	evictReported atomic.Uint64

	// Test seams: how the senders wait between retries and draw jitter.
	sleep  func(d time.Duration, interrupt <-chan struct{}) bool
	jitter func() float64
	now    func() time.Time

	fatalOnce sync.Once
}

// job is one batch handed to a sender, or one spooled payload to restore.
type job struct {
	id    uint64
	batch []entry
	// gaveUp: Shutdown's deadline or an unreachable receiver made the
	// sender drop (or spool) the batch; the dispatcher does the same with
	// what is left.
	gaveUp bool
	// restore: send the oldest spooled payload instead of a batch. The
	// sender sets spoolEmpty when there was none, halted when it kept it
	// on disk because the receiver did not take it: either ends restoring.
	restore, spoolEmpty, halted bool
}

// concurrentExporter marks the exporters of this package that are safe for
// concurrent use, and so get two requests in flight by default.
type concurrentExporter interface{ exportsConcurrently() }

func newBatcher(exp Exporter, opts *HandlerOptions, fr *framing, scopes *scopeRegistry) *batcher {
	if opts.ConcurrentExports <= 0 {
		opts.ConcurrentExports = 1
		if _, ok := exp.(concurrentExporter); ok {
			opts.ConcurrentExports = 2
		}
	}
	b := &batcher{
		exp:      exp,
		opts:     opts,
		framing:  fr,
		scopes:   scopes,
		room:     make(chan struct{}),
		wake:     make(chan struct{}, 1),
		flushc:   make(chan chan struct{}),
		jobs:     make(chan *job, opts.ConcurrentExports),
		results:  make(chan *job, opts.ConcurrentExports),
		stopping: make(chan struct{}),
		abort:    make(chan struct{}),
		done:     make(chan struct{}),
		errOut:   os.Stderr,
		sleep:    realSleep,
		jitter:   rand.Float64,
		now:      time.Now,
	}
	b.notes.onError = opts.OnError
	if b.notes.onError == nil {
		b.notes.onError = stderrReporter(b.errOut)
	}
	b.ctx, b.cancel = context.WithCancelCause(context.Background())
	return b
}

// abortNow cancels every export in flight and every wait: Shutdown's
// deadline has passed.
func (b *batcher) abortNow(cause error) {
	b.abortOnce.Do(func() {
		close(b.abort)
		b.cancel(cause)
	})
}

func (b *batcher) aborted() bool {
	select {
	case <-b.abort:
		return true
	default:
		return false
	}
}

func (b *batcher) stoppingNow() bool {
	select {
	case <-b.stopping:
		return true
	default:
		return false
	}
}

// flushWaiter is a Flush waiting for the records queued at its call.
type flushWaiter struct {
	target   uint64 // the last record it waits for
	boundary uint64 // once all of them are taken: the last job that holds any
	reply    chan struct{}
}

// run is the dispatcher: it hands out batches, answers flushes, sends drop
// reports, and drains the queue at Shutdown.
func (b *batcher) run() {
	defer close(b.done)
	b.registerOwn()
	stopSpooler := b.startSpool()
	var senders sync.WaitGroup
	free := make([]*job, 0, b.opts.ConcurrentExports)
	for range b.opts.ConcurrentExports {
		free = append(free, &job{})
		senders.Go(b.sendLoop)
	}
	ticker := time.NewTicker(b.opts.FlushInterval)
	defer ticker.Stop()
	var reports <-chan time.Time
	if b.sendReport != nil {
		t := time.NewTicker(b.opts.DropReportInterval)
		defer t.Stop()
		reports = t.C
	}
	var (
		inflight []*job
		waiters  []*flushWaiter
		lastID   uint64
		stopping = b.stopping
		abort    <-chan struct{}
		draining bool
		gaveUp   bool
		// Restoring: restoreJobs are in flight; ending, one found the
		// spool empty or gave up, so no more are handed out, and new
		// batches start once the last is back.
		restoreJobs int
		ending      bool
	)
	for {
		if b.restoreDue.Swap(false) {
			b.restoring.Store(true)
			ending = false
		}
		for len(free) > 0 && !gaveUp {
			j := free[len(free)-1]
			// Spooled payloads go before new batches, one per sender,
			// and none while a sender retries.
			j.restore = b.restoring.Load()
			if j.restore {
				if ending || b.isRetrying() {
					break
				}
				restoreJobs++
			} else {
				if !b.ready() {
					break
				}
				if j.batch = b.take(j.batch); len(j.batch) == 0 {
					break
				}
			}
			free = free[:len(free)-1]
			lastID++
			j.id, j.gaveUp, j.spoolEmpty, j.halted = lastID, false, false, false
			inflight = append(inflight, j)
			b.jobs <- j // buffered for every job: never blocks
		}
		waiters = b.answerFlushes(waiters, inflight, lastID, gaveUp)
		b.noticeQueueFull()
		if draining && len(inflight) == 0 && (gaveUp || (b.stats().Queued == 0 && !b.restoring.Load())) {
			break
		}
		select {
		case <-b.wake:
		case <-ticker.C:
			b.markDue()
		case reply := <-b.flushc:
			b.mu.Lock()
			waiters = append(waiters, &flushWaiter{target: b.seq, reply: reply})
			b.due = b.seq
			b.mu.Unlock()
		case j := <-b.results:
			inflight = slices.DeleteFunc(inflight, func(x *job) bool { return x == j })
			free = append(free, j)
			if j.gaveUp && draining {
				gaveUp = true
			}
			if j.restore {
				restoreJobs--
				ending = ending || j.spoolEmpty || j.halted
				if ending && restoreJobs == 0 {
					b.restoring.Store(false)
				}
			}
		case <-reports:
			b.queueDropReport()
		case <-stopping:
			stopping, abort, draining = nil, b.abort, true
			b.mu.Lock()
			b.spooledAtStop = b.st.Spooled
			b.mu.Unlock()
			b.queueDropReport()
			b.markDue()
		case <-abort:
			abort, gaveUp = nil, true
		}
	}
	close(b.jobs)
	senders.Wait()
	stopSpooler()
	b.finish(waiters)
}

// ready reports whether a batch is to be sent now: a full one, or records
// made due by a trigger (an ERROR, the timer, Flush, Shutdown). Partial
// batches otherwise wait, so requests stay full under load. Nothing is sent
// while a sender is retrying, so that a failing receiver gets one batch, not
// many.
func (b *batcher) ready() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.oldestLocked()
	return c >= 0 && (b.queued >= b.opts.BatchSize || b.q[c].headSeq() <= b.due) && b.retrying == 0
}

// markDue makes everything queued due now.
func (b *batcher) markDue() {
	b.mu.Lock()
	b.due = b.seq
	b.mu.Unlock()
}

// answerFlushes releases each Flush whose records have all been settled and
// returns those still waiting.
func (b *batcher) answerFlushes(ws []*flushWaiter, inflight []*job, lastID uint64, gaveUp bool) []*flushWaiter {
	if len(ws) == 0 {
		return ws
	}
	b.mu.Lock()
	head := uint64(0) // seq of the oldest queued record; 0: none
	if c := b.oldestLocked(); c >= 0 {
		head = b.q[c].headSeq()
	}
	b.mu.Unlock()
	return slices.DeleteFunc(ws, func(w *flushWaiter) bool {
		if w.boundary == 0 {
			if head != 0 && head <= w.target && !gaveUp {
				return false // some of its records are still queued
			}
			w.boundary = lastID
		}
		for _, j := range inflight {
			if j.id <= w.boundary {
				return false
			}
		}
		close(w.reply)
		return true
	})
}

// finish runs once the senders are done: it counts what is still queued as
// dropped, releases waiting flushes, shuts the exporter down and records
// Shutdown's result.
func (b *batcher) finish(waiters []*flushWaiter) {
	b.mu.Lock()
	if b.spool != nil {
		// What Shutdown could not send goes to disk instead.
		es := b.takeAllLocked()
		b.mu.Unlock()
		b.spoolWrite(es)
		b.mu.Lock()
	}
	if b.queued > 0 && !b.causeInStop {
		b.cause = errors.New("the queue was not drained when Shutdown ended")
		if b.stopCtx.Err() != nil {
			b.cause = fmt.Errorf("the queue was not drained when Shutdown's context ended (%w)", context.Cause(b.stopCtx))
		}
	}
	b.dropQueuedLocked(dropShutdown)
	b.mu.Unlock()
	b.wakeWaiters()
	for _, w := range waiters {
		close(w.reply)
	}
	for {
		select {
		case w := <-b.flushc:
			close(w)
			continue
		default:
		}
		break
	}
	var ctxErr error
	select {
	case <-b.abort: // the deadline cut the drain short
		ctxErr = b.stopCtx.Err()
	default:
	}
	if err := b.safeShutdown(b.stopCtx); err != nil {
		b.notify(failShutdown, fmt.Errorf("slogotlp: exporter shutdown: %w", err))
	}
	b.closeSpool()
	b.cancel(errors.New("slogotlp: the handler is shut down"))
	b.stopRelease()
	s := b.stats()
	if s.Dropped.Total() > s.Dropped.Paused {
		b.mu.Lock()
		de := &DeliveryError{Handled: s.Handled, Dropped: s.Dropped, Cause: b.cause, ctxErr: ctxErr}
		b.mu.Unlock()
		b.stopErr = de
		b.notify(failShutdown, de)
	}
}

func (b *batcher) safeShutdown(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("exporter panicked: %v", r)
		}
	}()
	return b.exp.Shutdown(ctx)
}

// queueDropReport queues the handler's report of the records dropped since
// the last report that was delivered, unless one is still queued. A report
// that is itself dropped is counted, and its counts go into the next.
func (b *batcher) queueDropReport() {
	if b.sendReport == nil || b.disabled.Load() || b.paused.Load() {
		return
	}
	b.mu.Lock()
	d := b.st.Dropped
	b.mu.Unlock()
	b.rmu.Lock()
	delta := d.minus(b.reported)
	if b.pending != nil || delta.Total() == 0 {
		b.rmu.Unlock()
		return
	}
	b.pending = &d
	b.rmu.Unlock()
	b.sendReport(delta, &reportTicket{settled: b.reportSettled})
}

// reportSettled records the fate of the report under way.
func (b *batcher) reportSettled(delivered bool) {
	b.rmu.Lock()
	if delivered && b.pending != nil {
		b.reported = *b.pending
	}
	b.pending = nil
	b.rmu.Unlock()
}

// noticeQueueFull tells OnError of records dropped for lack of room since
// it last did, at most once per errorReportInterval.
func (b *batcher) noticeQueueFull() {
	b.mu.Lock()
	n := b.st.Dropped.QueueFull - b.noticedQueueFull
	b.mu.Unlock()
	if n == 0 || !b.readyToNotify(failQueueFull) {
		return
	}
	b.mu.Lock()
	b.noticedQueueFull = b.st.Dropped.QueueFull
	b.mu.Unlock()
	b.notify(failQueueFull, fmt.Errorf("slogotlp: %d records dropped because the queue was full (MaxQueueSize %d records, "+
		"MaxQueueBytes %d): logging outpaces export; raise the limits, or set Overflow: OverflowBlock",
		n, b.opts.MaxQueueSize, b.opts.MaxQueueBytes))
}

// disable switches export off after a fatal result: queued records are
// dropped and later ones counted as dropped, not piled up.
func (b *batcher) disable(err error) {
	err = orUnknown(err)
	b.disabled.Store(true)
	b.noteCause(err)
	b.mu.Lock()
	b.dropQueuedLocked(dropFatal)
	b.wakeWaitersLocked()
	b.mu.Unlock()
	b.fatalOnce.Do(func() {
		b.notify(failFatal, fmt.Errorf("slogotlp: export stopped for good after a fatal error; records are dropped "+
			"from now on (fix the cause and restart the program): %s", causeText(err)))
	})
}

// errOwnGoroutine is what Flush and Shutdown return when called from the
// handler's own goroutines (an Exporter or OnError): waiting there would
// wait on itself.
var errOwnGoroutine = errors.New("slogotlp: Flush or Shutdown called from the exporter or OnError, which run on " +
	"the handler's own goroutines: it cannot wait for itself (Shutdown was started, not waited for)")

func (b *batcher) flush(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if b.closed.Load() {
		return ErrShutdown
	}
	if b.isOwn() {
		return errOwnGoroutine
	}
	reply := make(chan struct{})
	select {
	case b.flushc <- reply:
	case <-b.stopping:
		return ErrShutdown
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-reply:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// shutdown stops accepting records and drains the queue within ctx, or
// within ShutdownTimeout if ctx has no deadline. Every call returns the
// first call's result.
func (b *batcher) shutdown(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	b.stopOnce.Do(func() {
		sctx, cancel := ctx, context.CancelFunc(func() {})
		if _, ok := ctx.Deadline(); !ok {
			sctx, cancel = context.WithTimeoutCause(ctx, b.opts.ShutdownTimeout,
				fmt.Errorf("ShutdownTimeout (%v) passed", b.opts.ShutdownTimeout))
		}
		b.stopCtx = sctx
		b.stopDeadline, _ = sctx.Deadline()
		// Exports are cut off at the deadline, or with a spool early
		// enough to write what is left to disk.
		cutoff, cancelCutoff := b.spoolCutoff(sctx)
		stop := context.AfterFunc(cutoff, func() { b.abortNow(context.Cause(cutoff)) })
		b.stopRelease = func() { stop(); cancelCutoff(); cancel() }
		b.closed.Store(true)
		close(b.stopping)
		b.wakeWaiters()
	})
	if b.isOwn() {
		return errOwnGoroutine
	}
	<-b.done
	return b.stopErr
}

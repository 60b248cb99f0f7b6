package slogotlp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

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

// entry is one encoded record waiting in the queue. The buffer comes from
// bufPool and goes back to it once the record is exported or dropped.
type entry struct {
	buf   *[]byte
	seq   uint64
	scope int32
	class uint8
}

// Overflow classes: when the queue is full the oldest record of the lowest
// class goes first.
const (
	classLow  = iota // TRACE, DEBUG
	classMid         // INFO, WARN
	classHigh        // ERROR, FATAL
	numClasses
)

func classOf(l slog.Level) uint8 {
	switch {
	case l < slog.LevelInfo:
		return classLow
	case l < slog.LevelError:
		return classMid
	}
	return classHigh
}

// fifo is a slice-backed queue that reuses its array once warmed up.
type fifo struct {
	items []entry
	head  int
}

func (f *fifo) len() int { return len(f.items) - f.head }

func (f *fifo) push(e entry) {
	if len(f.items) == cap(f.items) && f.head > 0 {
		n := copy(f.items, f.items[f.head:])
		clear(f.items[n:])
		f.items, f.head = f.items[:n], 0
	}
	f.items = append(f.items, e)
}

func (f *fifo) pop() entry {
	e := f.items[f.head]
	f.items[f.head] = entry{}
	f.head++
	if f.head == len(f.items) {
		f.items, f.head = f.items[:0], 0
	}
	return e
}

// batcher owns the queue and the exporter. Handle appends under mu and pokes
// wake; one goroutine (run) takes batches and makes every exporter call.
type batcher struct {
	exp      Exporter
	opts     *HandlerOptions
	envelope []byte // {"resourceLogs":[{"resource":{...},"scopeLogs":[
	scopes   *scopeRegistry
	onError  func(error)
	report   func(delta DropCounts) // drop reports, set by the handler

	mu       sync.Mutex
	q        [numClasses]fifo
	queued   int // records in q
	qbytes   int // capacity of their buffers
	inflight int // records taken by the worker, not yet settled
	seq      uint64
	st       Stats

	closed   atomic.Bool
	disabled atomic.Bool
	paused   atomic.Bool

	wake     chan struct{}
	flushc   chan chan struct{}
	stopping chan struct{}
	abort    chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	stopCtx  context.Context
	ctx      context.Context // cancelled on abort; parent of export calls
	cancel   context.CancelFunc
	abortNow func()

	// Reused by the worker goroutine only.
	batch   []entry
	payload []byte
	ids     []int32

	// Test seams: how the worker waits between retries and draws jitter.
	sleep  func(d time.Duration, abort <-chan struct{}) bool
	jitter func() float64
	now    func() time.Time

	fatalOnce    sync.Once
	lastReported DropCounts
}

func newBatcher(exp Exporter, opts *HandlerOptions, envelope []byte, scopes *scopeRegistry) *batcher {
	b := &batcher{
		exp:      exp,
		opts:     opts,
		envelope: envelope,
		scopes:   scopes,
		onError:  opts.OnError,
		wake:     make(chan struct{}, 1),
		flushc:   make(chan chan struct{}),
		stopping: make(chan struct{}),
		abort:    make(chan struct{}),
		done:     make(chan struct{}),
		sleep:    realSleep,
		jitter:   rand.Float64,
		now:      time.Now,
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	var once sync.Once
	b.abortNow = func() { once.Do(func() { close(b.abort); b.cancel() }) }
	return b
}

func realSleep(d time.Duration, abort <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-abort:
		return false
	}
}

// dropLocked counts n records as dropped. b.mu must be held.
func (b *batcher) dropLocked(r DropReason, n int) {
	*b.st.Dropped.count(r) += uint64(n)
}

// dropQueuedLocked drops every queued record for reason r. b.mu must be
// held.
func (b *batcher) dropQueuedLocked(r DropReason) {
	for c := range b.q {
		for b.q[c].len() > 0 {
			e := b.q[c].pop()
			b.queued--
			b.qbytes -= cap(*e.buf)
			b.dropLocked(r, 1)
			putBuffer(e.buf)
		}
	}
}

// enqueue takes ownership of bp, an encoded record, and queues it under the
// overflow policy. It never blocks on the exporter.
func (b *batcher) enqueue(bp *[]byte, l slog.Level, scope int32, maxLen int) error {
	cls := classOf(l)
	size := cap(*bp)
	b.mu.Lock()
	b.st.Handled++
	var err error
	switch {
	case b.closed.Load():
		b.dropLocked(DropShutdown, 1)
		err = ErrShutdown
	case b.disabled.Load() || b.paused.Load():
		b.dropLocked(DropDisabled, 1)
		err = ErrExportDisabled
	case len(*bp) > maxLen:
		b.dropLocked(DropTooLarge, 1)
		err = ErrTooLarge
	}
	if err != nil {
		b.mu.Unlock()
		putBuffer(bp)
		return err
	}
	for b.queued > 0 && (b.queued >= b.opts.MaxQueueSize || b.qbytes+size > b.opts.MaxQueueBytes) {
		victim := uint8(0)
		for victim < numClasses && b.q[victim].len() == 0 {
			victim++
		}
		if victim > cls {
			// Everything queued outranks this record: it is the one to go.
			b.dropLocked(DropQueueFull, 1)
			b.mu.Unlock()
			putBuffer(bp)
			return ErrQueueFull
		}
		e := b.q[victim].pop()
		b.queued--
		b.qbytes -= cap(*e.buf)
		b.dropLocked(DropQueueFull, 1)
		putBuffer(e.buf)
	}
	b.seq++
	b.q[cls].push(entry{buf: bp, seq: b.seq, scope: scope, class: cls})
	b.queued++
	b.qbytes += size
	trigger := b.queued >= b.opts.BatchSize || cls == classHigh
	pressed := b.queued >= b.opts.MaxQueueSize/4
	b.mu.Unlock()
	if trigger {
		select {
		case b.wake <- struct{}{}:
		default:
		}
		if pressed {
			// The queue is backing up: the export goroutine is runnable
			// but waking a thread for it can take a millisecond on a busy
			// machine. Yield this processor so it runs now. This waits on
			// no lock and no I/O; the export itself runs without us.
			runtime.Gosched()
		}
	}
	return nil
}

// refuse counts a record that Handle did not even encode because export was
// off or shut down when it looked. Counting it here, not in enqueue, means
// no unencoded record can reach the queue if export comes back on meanwhile.
func (b *batcher) refuse() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.st.Handled++
	if b.closed.Load() {
		b.dropLocked(DropShutdown, 1)
		return ErrShutdown
	}
	b.dropLocked(DropDisabled, 1)
	return ErrExportDisabled
}

// take moves up to BatchSize of the oldest queued records, in the order they
// were logged, into b.batch.
func (b *batcher) take() []entry {
	b.mu.Lock()
	defer b.mu.Unlock()
	batch := b.batch[:0]
	for len(batch) < b.opts.BatchSize {
		best := -1
		for c := range b.q {
			if b.q[c].len() > 0 && (best < 0 || b.q[c].items[b.q[c].head].seq < b.q[best].items[b.q[best].head].seq) {
				best = c
			}
		}
		if best < 0 {
			break
		}
		e := b.q[best].pop()
		b.queued--
		b.qbytes -= cap(*e.buf)
		batch = append(batch, e)
	}
	b.inflight += len(batch)
	b.batch = batch
	return batch
}

// settle ends the life of records taken by the worker: exported of them were
// accepted, the rest dropped for reason.
func (b *batcher) settle(es []entry, exported int, reason DropReason) {
	b.mu.Lock()
	b.inflight -= len(es)
	b.st.Exported += uint64(exported)
	b.dropLocked(reason, len(es)-exported)
	for i := range es {
		putBuffer(es[i].buf)
		es[i] = entry{}
	}
	b.mu.Unlock()
}

func (b *batcher) stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.st
	s.Queued = uint64(b.queued + b.inflight)
	s.Disabled = b.disabled.Load()
	return s
}

func (b *batcher) reportError(err error) {
	if b.onError != nil && err != nil {
		b.onError(err)
	}
}

func (b *batcher) run() {
	defer close(b.done)
	timer := time.NewTimer(b.opts.FlushInterval)
	defer timer.Stop()
	var reports <-chan time.Time
	if b.report != nil {
		t := time.NewTicker(b.opts.DropReportInterval)
		defer t.Stop()
		reports = t.C
	}
	for {
		var waiter chan struct{}
		select {
		case <-b.wake:
		case <-timer.C:
		case waiter = <-b.flushc:
		case <-reports:
			b.reportDrops()
			continue
		case <-b.stopping:
			b.drain()
			return
		}
		b.exportQueued()
		if waiter != nil {
			close(waiter)
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(b.opts.FlushInterval)
	}
}

// reportDrops hands the drops since the last report to the handler, which
// logs them as a record of its own.
func (b *batcher) reportDrops() {
	d := b.stats().Dropped
	delta := d.minus(b.lastReported)
	b.lastReported = d
	if delta.Total() > 0 && !b.disabled.Load() {
		b.report(delta)
	}
}

// drain runs once Shutdown has closed the queue: it exports what is left
// until the queue is empty or Shutdown's context ends, counts anything left
// as dropped, answers pending flushes and shuts the exporter down.
func (b *batcher) drain() {
	b.exportQueued()
	b.mu.Lock()
	b.dropQueuedLocked(DropShutdown)
	b.mu.Unlock()
	for {
		select {
		case w := <-b.flushc:
			close(w)
			continue
		default:
		}
		break
	}
	if err := b.safeShutdown(b.stopCtx); err != nil {
		b.reportError(fmt.Errorf("slogotlp: exporter shutdown: %w", err))
	}
	b.cancel()
}

func (b *batcher) safeShutdown(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("exporter panicked: %v", r)
		}
	}()
	return b.exp.Shutdown(ctx)
}

// exportQueued exports batches until the queue is empty or Shutdown's
// deadline passed.
func (b *batcher) exportQueued() {
	for {
		select {
		case <-b.abort:
			return
		default:
		}
		batch := b.take()
		if len(batch) == 0 {
			return
		}
		if b.disabled.Load() {
			b.settle(batch, 0, DropDisabled)
			continue
		}
		b.sendSplit(batch)
	}
}

// sendSplit sends a batch as as many payloads as MaxPayloadBytes requires.
func (b *batcher) sendSplit(batch []entry) {
	scopes := b.scopes.snapshot()
	for len(batch) > 0 {
		size := len(b.envelope) + 8
		ids := b.ids[:0]
		n := 0
		for n < len(batch) {
			e := batch[n]
			add := len(*e.buf) + 1
			if !slices.Contains(ids, e.scope) {
				add += len(scopes[e.scope].json) + scopeOverhead
			}
			if n > 0 && size+add > b.opts.MaxPayloadBytes {
				break
			}
			size += add
			if !slices.Contains(ids, e.scope) {
				ids = append(ids, e.scope)
			}
			n++
		}
		b.ids = ids
		b.send(batch[:n])
		batch = batch[n:]
	}
}

// scopeOverhead is the JSON around one scopeLogs entry besides the scope.
const scopeOverhead = len(`{"scope":,"logRecords":[]},`)

// build writes the OTLP payload for es into b.payload: one resourceLogs,
// one scopeLogs per instrumentation scope, records in logging order.
func (b *batcher) build(es []entry) []byte {
	scopes := b.scopes.snapshot()
	p := append(b.payload[:0], b.envelope...)
	ids := b.ids[:0]
	for _, e := range es {
		if !slices.Contains(ids, e.scope) {
			ids = append(ids, e.scope)
		}
	}
	for _, id := range ids {
		p = append(p, `{"scope":`...)
		p = append(p, scopes[id].json...)
		p = append(p, `,"logRecords":[`...)
		for _, e := range es {
			if e.scope == id {
				p = append(p, *e.buf...)
				p = append(p, ',')
			}
		}
		p = closeList(p)
		p = append(p, "},"...)
	}
	p = closeList(p)
	p = append(p, "}]}"...)
	b.payload, b.ids = p, ids
	return p
}

// send exports es, retrying and splitting as the results ask, and settles
// every record in it.
func (b *batcher) send(es []entry) {
	payload := b.build(es)
	start := b.now()
	for attempt := 0; ; attempt++ {
		res := b.exportOnce(payload, len(es))
		b.mu.Lock()
		b.st.ExportAttempts++
		if attempt > 0 {
			b.st.Retries++
		}
		b.st.Offline = res.Outcome == Retryable && res.Offline
		b.mu.Unlock()
		switch res.Outcome {
		case Success:
			rejected := int(min(max(res.Rejected, 0), int64(len(es))))
			b.settle(es, len(es)-rejected, DropRejected)
			if rejected > 0 || res.Err != nil {
				b.reportError(fmt.Errorf("slogotlp: receiver rejected %d of %d records: %w", rejected, len(es), orUnknown(res.Err)))
			}
			return
		case TooLarge:
			if len(es) == 1 {
				b.settle(es, 0, DropTooLarge)
				b.reportError(fmt.Errorf("slogotlp: dropped a record the receiver refused as too large even alone; lower MaxPayloadBytes or shorten the record: %w", orUnknown(res.Err)))
				return
			}
			// The halves are rebuilt from the records, so the payload
			// buffer can be reused.
			h := len(es) / 2
			b.send(es[:h])
			b.send(es[h:])
			return
		case Rejected:
			b.settle(es, 0, DropRejected)
			b.reportError(fmt.Errorf("slogotlp: receiver rejected a batch of %d records; export continues: %w", len(es), orUnknown(res.Err)))
			return
		case Retryable:
			if !res.Offline && b.now().Sub(start) >= b.opts.MaxRetryTime {
				b.settle(es, 0, DropRetriesExhausted)
				b.reportError(fmt.Errorf("slogotlp: gave up on %d records after retrying for %v (MaxRetryTime): %w", len(es), b.opts.MaxRetryTime, orUnknown(res.Err)))
				return
			}
			d := b.backoff(attempt)
			if res.RetryAfter > 0 {
				d = res.RetryAfter
			}
			if !b.sleep(d, b.abort) {
				b.settle(es, 0, DropShutdown)
				return
			}
		default: // Fatal, or an outcome this version does not know.
			b.disable(res.Err)
			b.settle(es, 0, DropDisabled)
			return
		}
	}
}

func orUnknown(err error) error {
	if err == nil {
		return errors.New("no detail given")
	}
	return err
}

// exportOnce calls the exporter with the export timeout, turning a panic in
// it into a rejected batch so a buggy exporter cannot kill the process.
func (b *batcher) exportOnce(payload []byte, n int) (res Result) {
	ctx, cancel := context.WithTimeout(b.ctx, b.opts.ExportTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			res = Result{Outcome: Rejected, Err: fmt.Errorf("exporter panicked: %v", r)}
		}
	}()
	return b.exp.Export(ctx, payload, n)
}

// backoff returns the delay before retry attempt+1: InitialBackoff doubled
// per attempt, capped at MaxBackoff, then spread by ±20% jitter so that many
// clients do not retry in step.
func (b *batcher) backoff(attempt int) time.Duration {
	d := b.opts.MaxBackoff
	if attempt < 32 {
		if x := b.opts.InitialBackoff << attempt; x > 0 && x < d {
			d = x
		}
	}
	return time.Duration(float64(d) * (0.8 + 0.4*b.jitter()))
}

// disable switches export off after a fatal result: queued records are
// dropped and later ones counted as dropped, not piled up.
func (b *batcher) disable(err error) {
	b.disabled.Store(true)
	b.fatalOnce.Do(func() {
		b.reportError(fmt.Errorf("slogotlp: export disabled after a fatal error; fix the cause and restart the service: %w", orUnknown(err)))
	})
	b.mu.Lock()
	b.dropQueuedLocked(DropDisabled)
	b.mu.Unlock()
}

func (b *batcher) flush(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if b.closed.Load() {
		return ErrShutdown
	}
	reply := make(chan struct{})
	select {
	case b.flushc <- reply:
	case <-b.done:
		return ErrShutdown
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

func (b *batcher) shutdown(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	first := false
	b.stopOnce.Do(func() {
		first = true
		b.stopCtx = ctx
		b.closed.Store(true)
		close(b.stopping)
	})
	if !first {
		<-b.done
		return nil
	}
	stop := context.AfterFunc(ctx, b.abortNow)
	defer stop()
	<-b.done // the worker returns promptly once ctx ends: exports and waits watch it
	if s := b.stats(); s.Dropped.Shutdown > 0 && ctx.Err() != nil {
		return fmt.Errorf("slogotlp: shutdown ended before the queue drained (%d records dropped in all): %w", s.Dropped.Shutdown, ctx.Err())
	}
	return nil
}

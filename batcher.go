package slogotlp

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// batcher owns the queue and the exporter. Handle appends under mu and pokes
// wake; one goroutine (run) takes batches and makes every exporter call.
type batcher struct {
	exp     Exporter
	opts    *HandlerOptions
	framing *framing // the payload format and its sizes
	scopes  *scopeRegistry
	onError func(error)
	report  func(delta DropCounts) // drop reports, set by the handler

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
	records [][]byte // the batch's records in the payload's format
	scratch []byte   // their JSON transcoding, for a JSON payload

	// Test seams: how the worker waits between retries and draws jitter.
	sleep  func(d time.Duration, abort <-chan struct{}) bool
	jitter func() float64
	now    func() time.Time

	fatalOnce    sync.Once
	lastReported DropCounts
}

func newBatcher(exp Exporter, opts *HandlerOptions, fr *framing, scopes *scopeRegistry) *batcher {
	b := &batcher{
		exp:      exp,
		opts:     opts,
		framing:  fr,
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
	b.dropQueuedLocked(dropShutdown)
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
			b.settle(batch, 0, dropFatal)
			continue
		}
		b.sendSplit(batch)
	}
}

// sendSplit sends a batch as as many payloads as MaxPayloadBytes requires.
// A record that alone exceeds it in the payload's format is dropped.
func (b *batcher) sendSplit(batch []entry) {
	scopes := b.scopes.snapshot()
	f := b.framing
	var records [][]byte
	records, b.scratch = f.wireRecords(batch, b.records, b.scratch)
	b.records = records
	for len(batch) > 0 {
		size := f.base()
		ids := b.ids[:0]
		n := 0
		for n < len(batch) {
			e := batch[n]
			add := f.recordCost(len(records[n]))
			newScope := !slices.Contains(ids, e.scope)
			if newScope {
				add += f.scopeCost(&scopes[e.scope])
			}
			if size+add > b.opts.MaxPayloadBytes {
				break
			}
			size += add
			if newScope {
				ids = append(ids, e.scope)
			}
			n++
		}
		b.ids = ids
		if n == 0 {
			b.settle(batch[:1], 0, dropTooLarge)
			b.reportError(fmt.Errorf("slogotlp: dropped a record of %d bytes as %s, more than MaxPayloadBytes (%d) allows: "+
				"shorten its attributes or raise the limit", len(records[0]), f.format, b.opts.MaxPayloadBytes))
			batch, records = batch[1:], records[1:]
			continue
		}
		b.send(batch[:n], records[:n])
		batch, records = batch[n:], records[n:]
	}
}

// send exports es, retrying and splitting as the results ask, and settles
// every record in it.
func (b *batcher) send(es []entry, records [][]byte) {
	var payload []byte
	b.payload, b.ids = b.framing.build(b.payload, es, records, b.scopes.snapshot(), b.ids)
	payload = b.payload
	start := b.now()
	for attempt := 0; ; attempt++ {
		res := b.exportOnce(payload, len(es))
		b.mu.Lock()
		b.st.ExportAttempts++
		if attempt > 0 {
			b.st.Retries++
		}
		b.st.Offline = res.Outcome == ExportRetryable && res.Offline
		b.mu.Unlock()
		switch res.Outcome {
		case ExportSuccess:
			rejected := int(min(max(res.Rejected, 0), int64(len(es))))
			b.settle(es, len(es)-rejected, dropRejected)
			if rejected > 0 || res.Err != nil {
				b.reportError(fmt.Errorf("slogotlp: receiver rejected %d of %d records: %w", rejected, len(es), orUnknown(res.Err)))
			}
			return
		case ExportTooLarge:
			if len(es) == 1 {
				b.settle(es, 0, dropTooLarge)
				b.reportError(fmt.Errorf("slogotlp: dropped a record the receiver refused as too large even alone; lower MaxPayloadBytes or shorten the record: %w", orUnknown(res.Err)))
				return
			}
			// The halves are rebuilt from the records, so the payload
			// buffer can be reused.
			h := len(es) / 2
			b.send(es[:h], records[:h])
			b.send(es[h:], records[h:])
			return
		case ExportRejected:
			b.settle(es, 0, dropRejected)
			b.reportError(fmt.Errorf("slogotlp: receiver rejected a batch of %d records; export continues: %w", len(es), orUnknown(res.Err)))
			return
		case ExportRetryable:
			if !res.Offline && b.now().Sub(start) >= b.opts.MaxRetryTime {
				b.settle(es, 0, dropRetriesExhausted)
				b.reportError(fmt.Errorf("slogotlp: gave up on %d records after retrying for %v (MaxRetryTime): %w", len(es), b.opts.MaxRetryTime, orUnknown(res.Err)))
				return
			}
			d := b.backoff(attempt)
			if res.RetryAfter > 0 {
				d = res.RetryAfter
			}
			if !b.sleep(d, b.abort) {
				b.settle(es, 0, dropShutdown)
				return
			}
		default: // Fatal, or an outcome this version does not know.
			b.disable(res.Err)
			b.settle(es, 0, dropFatal)
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
			res = Result{Outcome: ExportRejected, Err: fmt.Errorf("exporter panicked: %v", r)}
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
	b.dropQueuedLocked(dropFatal)
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

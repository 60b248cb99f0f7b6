package slogotlp

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// This file decides what goes to the disk spool and when; spool.go stores
// it, spool_restore.go sends it back. Nothing here runs in Handle or under
// b.mu but stageLocked, which only moves entries in memory: every write to
// disk happens on the batcher's own goroutines (spoolLoop, the senders, the
// dispatcher's finish).
//
// Records go to disk instead of being dropped in two cases:
//   - Shutdown: at spoolCutoff, shortly before its deadline, exports are
//     cut off, and what is in flight or queued is written to the spool;
//     likewise when Shutdown gives up on an unreachable receiver.
//   - Overflow while the receiver is not taking records (unreachable,
//     failing, or the spool is being restored ahead of the queue): instead
//     of evicting records one by one, push moves a whole batch of the
//     lowest severity out of the queue (stageLocked) and spoolLoop writes
//     it.
//
// Records the receiver refused, those of a fatal error and those too large
// to send are never spooled. With the receiver up and no overflow, nothing
// here runs.

// spoolReservePerBatch is the time Shutdown keeps before its deadline for
// each batch it may have to write to disk: a put is two fsyncs and a
// directory listing, a few milliseconds on a local disk.
const spoolReservePerBatch = 10 * time.Millisecond

// errSpoolCutoff is the cause of the exports cut off to spool what is left.
var errSpoolCutoff = errors.New("the deadline of Shutdown is near: what was not sent is written to the spool")

// attachSpool opens the spool of this batcher's destination, when the
// options ask for one and the exporter has a receiver to wait for. A
// failure is kept for run to report, and the batcher works without.
func (b *batcher) attachSpool(o *HandlerOptions, dest string, resource []byte) {
	if o.SpoolDir == "" || !spoolable(b.exp) {
		return
	}
	s, root, err := openDestSpool(o.SpoolDir, o.SpoolMaxBytes, spoolIdentity(b.exp, dest))
	b.spoolRoot = root
	if err != nil {
		b.spoolErr = fmt.Errorf("slogotlp: the disk spool is off, records are kept in memory only: %w", err)
		return
	}
	b.spool, b.spoolFr = s, newFraming(FormatProtobuf, resource)
	b.spoolWake = make(chan struct{}, 1)
	b.skipped = map[string]bool{}
}

// startSpool reports a spool that could not be opened, and starts the
// spool's goroutine and its first restore when there is one. The function
// it returns stops the goroutine once the rest of what is staged is
// written.
func (b *batcher) startSpool() (stop func()) {
	if b.spoolErr != nil {
		b.notify(failSpool, scrubSpoolPath(b.spoolErr, b.spoolRoot))
	}
	if b.spool == nil {
		return func() {}
	}
	b.restoreDue.Store(true)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		b.spoolLoop(quit)
	}()
	return func() {
		close(quit)
		<-done
	}
}

// spoolLoop writes the batches stageLocked hands it, until quit.
func (b *batcher) spoolLoop(quit <-chan struct{}) {
	b.registerOwn()
	for {
		select {
		case <-b.spoolWake:
			b.writeStaged()
		case <-quit:
			b.writeStaged()
			return
		}
	}
}

// writeStaged writes the staged batch, if any.
func (b *batcher) writeStaged() {
	b.mu.Lock()
	es := b.staged
	b.staged = nil
	b.mu.Unlock()
	if len(es) == 0 {
		return
	}
	b.spoolWrite(es)
	b.wakeWaiters() // a Handle waiting for room may stage the next batch
	b.poke()        // Shutdown's drain waits for these records too
}

// stageLocked moves up to BatchSize of the oldest records, of class c and
// then the classes above it, out of the full queue for spoolLoop to write,
// and reports whether it did. It does so only with a spool, while the
// receiver is not taking records (unreachable or failing, or the spool is
// being restored ahead of the queue) and while no staged batch is waiting.
// b.mu must be held.
func (b *batcher) stageLocked(c int) bool {
	if b.spool == nil || len(b.staged) > 0 || b.disabled.Load() ||
		(b.health == healthOK && !b.restoring.Load()) {
		return false
	}
	for ; c < numClasses && len(b.staged) < b.opts.BatchSize; c++ {
		for len(b.staged) < b.opts.BatchSize && b.q[c].len() > 0 {
			b.staged = append(b.staged, b.popLocked(c))
		}
	}
	b.inflight += len(b.staged)
	b.wakeWaitersLocked()
	select {
	case b.spoolWake <- struct{}{}:
	default:
	}
	return true
}

// takeAllLocked takes every queued record, in logging order, counting them
// in inflight. b.mu must be held.
func (b *batcher) takeAllLocked() []entry {
	es := make([]entry, 0, b.queued)
	for c := b.oldestLocked(); c >= 0; c = b.oldestLocked() {
		es = append(es, b.popLocked(c))
	}
	b.inflight += len(es)
	return es
}

// giveUp settles records Shutdown could not send: spooled when there is a
// spool, else dropped with cause.
func (b *batcher) giveUp(es []entry, cause error) {
	if b.spool != nil {
		b.spoolWrite(es)
		return
	}
	b.drop(es, dropShutdown, cause)
}

// spoolWrite writes es, records counted in inflight, to the spool, and
// settles each: spooled; or dropped, as too large (a record that alone
// exceeds MaxPayloadBytes would never be sent), as fatal (export is off
// for good) or as SpoolFailed (the spool could not take it).
//
// Payloads are protobuf whatever the exporter's format, each of one
// severity class (the spool bounds itself by class), the highest class
// first (a payload can make room only among files of its class or lower),
// and each within BatchSize records and within MaxPayloadBytes in the
// exporter's format, so that a restored payload is one the receiver takes.
func (b *batcher) spoolWrite(es []entry) {
	if len(es) == 0 {
		return
	}
	if b.disabled.Load() {
		b.settle(es, 0, dropFatal)
		return
	}
	sorted := make([]entry, 0, len(es))
	for c := numClasses - 1; c >= 0; c-- {
		for _, e := range es {
			if int(e.class) == c {
				sorted = append(sorted, e)
			}
		}
	}
	f := b.framing
	// Each record's size in the exporter's format: the protobuf as is, or
	// the length of its JSON transcoding.
	sizes := make([]int, len(sorted))
	var js []byte
	for i, e := range sorted {
		sizes[i] = len(*e.buf)
		if f.format != FormatProtobuf {
			js = appendRecordJSON(js[:0], *e.buf)
			sizes[i] = len(js)
		}
	}
	scopes := b.scopes.snapshot()
	var (
		payload []byte
		ids     []int32
		proto   [][]byte
		failed  error // the last put's error
		wrote   bool
		lost    int
		lostErr error
	)
	for len(sorted) > 0 {
		// A payload holds records of one class, at most BatchSize.
		class := sorted[0].class
		limit := 0
		for limit < len(sorted) && limit < b.opts.BatchSize && sorted[limit].class == class {
			limit++
		}
		var n int
		n, ids = b.fit(sorted, limit, func(i int) int { return sizes[i] }, scopes, ids)
		if n == 0 {
			b.dropOversize(sorted, sizes[0])
			sorted, sizes = sorted[1:], sizes[1:]
			continue
		}
		chunk := sorted[:n]
		// After a failure of the disk later puts would fail alike; a full
		// spool may still take a smaller payload.
		if failed == nil || errors.Is(failed, errSpoolFull) {
			proto = proto[:0]
			for _, e := range chunk {
				proto = append(proto, *e.buf)
			}
			payload, ids = b.spoolFr.build(payload, chunk, proto, scopes, ids)
			failed = b.spool.put(payload, n, class)
		}
		if failed != nil {
			lost += n
			lostErr = scrubSpoolPath(failed, b.spoolRoot)
			b.drop(chunk, dropSpoolFailed, lostErr)
		} else {
			wrote = true
			b.settleSpooled(chunk)
		}
		sorted, sizes = sorted[n:], sizes[n:]
	}
	b.mu.Lock()
	up := b.health == healthOK
	b.mu.Unlock()
	if up && wrote {
		// The receiver came back while this was written, perhaps after
		// the restore listed the directory: send it without waiting for
		// another outage to end.
		b.restoreDue.Store(true)
		b.poke()
	}
	if lost > 0 {
		b.notify(failSpool, fmt.Errorf("slogotlp: %d records could not be written to the disk spool and are lost: %s",
			lost, causeText(lostErr)))
	}
	b.reportEvictions()
}

// reportEvictions tells OnError of the records the spool removed unsent to
// make room since the last report (Stats.SpoolEvicted counts them). Each
// eviction is told once, whichever goroutine wrote.
func (b *batcher) reportEvictions() {
	now := b.spool.evicted.Load()
	for {
		told := b.evictReported.Load()
		if now <= told {
			return
		}
		if b.evictReported.CompareAndSwap(told, now) {
			b.notify(failSpoolEvicted, fmt.Errorf("slogotlp: the disk spool is at SpoolMaxBytes (%d bytes): "+
				"%d older spooled records of the same or a lower severity were removed unsent to make room; "+
				"raise SpoolMaxBytes to keep more", b.opts.SpoolMaxBytes, now-told))
			return
		}
	}
}

// settleSpooled ends the life of records written to the spool. A copy of
// the handler's drop report counts as delivered: the spool delivers it
// later.
func (b *batcher) settleSpooled(es []entry) {
	b.mu.Lock()
	b.inflight -= len(es)
	b.st.Spooled += uint64(len(es))
	for i := range es {
		if es[i].report != nil {
			es[i].report.settle(true)
		}
		releaseBuffer(es[i].buf)
		es[i] = entry{}
	}
	b.mu.Unlock()
}

// spoolCutoff returns the context whose end cuts Shutdown's exports off:
// sctx itself without a spool; with one, a context that ends early enough
// to write what is left to disk: spoolReservePerBatch for each batch queued
// or in flight and one per sender, at most half the time left.
func (b *batcher) spoolCutoff(sctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := sctx.Deadline()
	if b.spool == nil || !ok {
		return sctx, func() {}
	}
	b.mu.Lock()
	n := b.queued + b.inflight
	b.mu.Unlock()
	batches := (n+b.opts.BatchSize-1)/b.opts.BatchSize + b.opts.ConcurrentExports
	reserve := min(time.Duration(batches)*spoolReservePerBatch, time.Until(deadline)/2)
	cutoff := deadline.Add(-max(reserve, 0))
	b.stopDeadline = cutoff
	return context.WithDeadlineCause(sctx, cutoff, errSpoolCutoff)
}

// closeSpool closes the spool at the end of Shutdown, telling OnError how
// many records Shutdown left there for the next start.
func (b *batcher) closeSpool() {
	if b.spool == nil {
		return
	}
	b.mu.Lock()
	n := b.st.Spooled - b.spooledAtStop
	b.mu.Unlock()
	if n > 0 {
		b.notify(failShutdown, fmt.Errorf("slogotlp: %d records the receiver did not take before Shutdown's deadline "+
			"are kept in the disk spool and sent at the next start", n))
	}
	if err := b.spool.close(); err != nil {
		b.notify(failSpool, scrubSpoolPath(fmt.Errorf("slogotlp: closing the disk spool: %w", err), b.spoolRoot))
	}
}

package slogotlp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// The senders: each takes a batch from the dispatcher, frames it into as
// many payloads as MaxPayloadBytes allows, exports each with the export
// timeout, retries with backoff (or as Retry-After asks), splits on 413, and
// settles every record: exported, or dropped and counted with its cause.

// sendLoop is one sender: it exports the batches the dispatcher hands out.
func (b *batcher) sendLoop() {
	b.registerOwn()
	s := &sender{b: b}
	for j := range b.jobs {
		if j.restore {
			j.spoolEmpty, j.halted = s.restore()
		} else {
			j.gaveUp = !s.sendSplit(j.batch)
			clear(j.batch)
		}
		b.results <- j
	}
}

// sender is one sender goroutine's scratch space, reused across batches.
type sender struct {
	b       *batcher
	payload []byte
	ids     []int32
	records [][]byte // the batch's records in the payload's format
	scratch []byte   // their JSON transcoding, for a JSON payload
	restJS  []byte   // a restored payload's JSON transcoding
}

// sendSplit sends a batch as as many payloads as MaxPayloadBytes requires
// and settles every record. A record that alone exceeds it in the
// payload's format is dropped. It reports false if it gave up because
// Shutdown could not wait: the rest of the batch is dropped.
func (s *sender) sendSplit(batch []entry) bool {
	b := s.b
	if b.disabled.Load() {
		b.settle(batch, 0, dropFatal)
		return true
	}
	scopes := b.scopes.snapshot()
	var records [][]byte
	records, s.scratch = b.framing.wireRecords(batch, s.records, s.scratch)
	s.records = records
	for len(batch) > 0 {
		var n int
		n, s.ids = b.fit(batch, len(batch), func(i int) int { return len(records[i]) }, scopes, s.ids)
		if n == 0 {
			b.dropOversize(batch, len(records[0]))
			batch, records = batch[1:], records[1:]
			continue
		}
		if !s.send(batch[:n], records[:n]) {
			b.giveUp(batch[n:], nil)
			return false
		}
		batch, records = batch[n:], records[n:]
	}
	return true
}

// fit returns how many of the first records of es, at most limit, fit in
// one payload within MaxPayloadBytes in the exporter's format, size(i) being
// the size of es[i]'s record in that format. ids is scratch for the scopes
// counted, returned for reuse.
func (b *batcher) fit(es []entry, limit int, size func(i int) int, scopes []scopeInfo, ids []int32) (int, []int32) {
	f := b.framing
	total := f.base()
	ids = ids[:0]
	n := 0
	for ; n < limit; n++ {
		add := f.recordCost(size(n))
		newScope := !slices.Contains(ids, es[n].scope)
		if newScope {
			add += f.scopeCost(&scopes[es[n].scope])
		}
		if total+add > b.opts.MaxPayloadBytes {
			break
		}
		total += add
		if newScope {
			ids = append(ids, es[n].scope)
		}
	}
	return n, ids
}

// dropOversize drops the first record of es, of size bytes in the
// exporter's format: more than MaxPayloadBytes allows even alone.
func (b *batcher) dropOversize(es []entry, size int) {
	err := fmt.Errorf("slogotlp: dropped a record of %d bytes as %s, more than MaxPayloadBytes (%d) allows: "+
		"shorten its attributes or raise the limit", size, b.framing.format, b.opts.MaxPayloadBytes)
	b.drop(es[:1], dropTooLarge, err)
	b.notify(failTooLarge, err)
}

// send exports es, retrying and splitting as the results ask, and settles
// every record in it. It reports false if it gave up because Shutdown could
// not wait.
func (s *sender) send(es []entry, records [][]byte) bool {
	b := s.b
	s.payload, s.ids = b.framing.build(s.payload, es, records, b.scopes.snapshot(), s.ids)
	start := b.now()
	retrying := retryMark{b: b}
	var failed error // the last failure before this attempt
	defer retrying.clear()
	for attempt := 0; ; attempt++ {
		res := b.exportOnce(s.payload, len(es))
		b.noteAttempt(attempt, res)
		switch res.Outcome {
		case ExportSuccess:
			rejected := int(min(max(res.Rejected, 0), int64(len(es))))
			if rejected > 0 {
				b.noteCause(res.Err)
			}
			b.settle(es, len(es)-rejected, dropRejected)
			if rejected > 0 || res.Err != nil {
				b.notify(failPartial, fmt.Errorf("slogotlp: the receiver took the batch but rejected %d of %d records: %s",
					rejected, len(es), causeText(res.Err)))
			}
			return true
		case ExportTooLarge:
			if len(es) == 1 {
				err := fmt.Errorf("slogotlp: dropped a record the receiver refused as too large even alone; "+
					"lower MaxPayloadBytes or shorten the record: %s", causeText(res.Err))
				b.drop(es, dropTooLarge, err)
				b.notify(failTooLarge, err)
				return true
			}
			// The halves are rebuilt from the records, so the payload
			// buffer can be reused.
			h := len(es) / 2
			if !s.send(es[:h], records[:h]) {
				b.giveUp(es[h:], nil)
				return false
			}
			return s.send(es[h:], records[h:])
		case ExportRejected:
			err := fmt.Errorf("slogotlp: dropped %d records the receiver refused (export goes on): %s", len(es), causeText(res.Err))
			b.drop(es, dropRejected, err)
			b.notify(failRejected, err)
			return true
		case ExportRetryable:
			retrying.set()
			if !res.Offline && b.now().Sub(start) >= b.opts.MaxRetryTime {
				err := fmt.Errorf("slogotlp: dropped %d records after retrying for %v (MaxRetryTime): %s",
					len(es), b.opts.MaxRetryTime, causeText(res.Err))
				b.drop(es, dropRetriesExhausted, err)
				b.notify(failGaveUp, err)
				return true
			}
			d := b.backoff(attempt)
			if res.RetryAfter > 0 {
				d = res.RetryAfter
			}
			if !b.wait(d, res.Offline) {
				cause := orUnknown(res.Err)
				if b.aborted() {
					// Shutdown's deadline cut this attempt short: the failure
					// before it, if any, says more.
					cause = &scrubbedError{msg: "cut short when Shutdown's context ended: " + causeText(cause), err: cause}
					if failed != nil {
						cause = failed
					}
				}
				b.giveUp(es, cause)
				return false
			}
			failed = res.Err
		default: // Fatal, or an outcome this version does not know.
			b.disable(res.Err)
			b.drop(es, dropFatal, nil)
			return true
		}
	}
}

// wait sleeps d before the next attempt and reports true, or false to give
// up: Shutdown does not wait for a receiver that is unreachable, nor past
// its deadline.
func (b *batcher) wait(d time.Duration, offline bool) bool {
	if !b.stoppingNow() {
		start := b.now()
		if b.sleep(d, b.stopping) {
			return true
		}
		d -= b.now().Sub(start) // Shutdown began meanwhile
	}
	if offline || b.now().Add(d).After(b.stopDeadline) {
		return false
	}
	return b.sleep(d, b.abort)
}

// drop counts es as dropped for r, cause (if any) being why.
func (b *batcher) drop(es []entry, r dropReason, cause error) {
	b.noteCause(cause)
	b.settle(es, 0, r)
}

// noteCause remembers err as the last failure that dropped records, for
// Shutdown's error.
func (b *batcher) noteCause(err error) {
	if err == nil {
		return
	}
	b.mu.Lock()
	b.cause = err
	b.causeInStop = b.stoppingNow()
	b.mu.Unlock()
}

// noteAttempt counts an export attempt and tracks the receiver's health,
// telling OnError when it changes: unreachable or failing, and reachable
// again.
func (b *batcher) noteAttempt(attempt int, res Result) {
	b.mu.Lock()
	h := healthOK
	switch {
	case res.Outcome == ExportFatal:
		h = b.health // not a statement about reachability
	case res.Outcome == ExportRetryable && res.Offline:
		h = healthOffline
	case res.Outcome == ExportRetryable:
		h = healthFailing
	}
	b.st.ExportAttempts++
	if attempt > 0 {
		b.st.Retries++
	}
	prev, since := b.health, b.now().Sub(b.downAt)
	b.health = h
	if prev == healthOK && h != healthOK {
		b.downAt = b.now()
	}
	queued := b.queued + b.inflight
	b.mu.Unlock()
	if b.spool != nil && h == healthOK && prev != healthOK {
		// The receiver answers again: what waits on disk goes first.
		b.restoreDue.Store(true)
		b.poke()
	}
	switch {
	case h == prev:
	case h == healthOffline:
		beyond := ""
		if b.spool != nil {
			beyond = "; beyond it, in the disk spool"
		}
		b.notify(failDown, fmt.Errorf("slogotlp: the receiver is unreachable: %s; %d records are kept (within "+
			"MaxQueueSize%s) and sent when it answers", causeText(res.Err), queued, beyond))
	case h == healthFailing:
		b.notify(failDown, fmt.Errorf("slogotlp: export is failing and is retried with backoff: %s", causeText(res.Err)))
	default:
		b.notify(failUp, fmt.Errorf("slogotlp: export works again after %v", since.Round(time.Millisecond)))
	}
}

// timeoutError is the cause of a context that ended by a timeout option:
// it names the option and still matches context.DeadlineExceeded.
type timeoutError string

func timeoutCause(option string, d time.Duration) error {
	return timeoutError(fmt.Sprintf("no answer within %s (%v)", option, d))
}

func (e timeoutError) Error() string      { return string(e) }
func (timeoutError) Timeout() bool        { return true }
func (timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

func orUnknown(err error) error {
	if err == nil {
		return errors.New("no detail given")
	}
	return err
}

// exportOnce calls the exporter with the export timeout, turning a panic in
// it into a rejected batch so a buggy exporter cannot kill the process.
func (b *batcher) exportOnce(payload []byte, n int) (res Result) {
	ctx, cancel := context.WithTimeoutCause(b.ctx, b.opts.ExportTimeout, timeoutCause("ExportTimeout", b.opts.ExportTimeout))
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

// realSleep waits d and reports true, or false if interrupt closes first.
func realSleep(d time.Duration, interrupt <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-interrupt:
		return false
	}
}

// retryMark counts one sender among the batcher's senders between failed
// attempts (batcher.retrying) while it retries a payload, which holds new
// batches back, so that a failing receiver sees one payload, not many.
type retryMark struct {
	b  *batcher
	on bool
}

// set counts the sender as retrying, once.
func (m *retryMark) set() {
	if !m.on {
		m.on = true
		m.b.mu.Lock()
		m.b.retrying++
		m.b.mu.Unlock()
	}
}

// clear ends the count, and pokes the dispatcher, which may send again.
func (m *retryMark) clear() {
	if m.on {
		m.on = false
		m.b.mu.Lock()
		m.b.retrying--
		m.b.mu.Unlock()
		m.b.poke()
	}
}

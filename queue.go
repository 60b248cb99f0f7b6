package slogotlp

import (
	"bytes"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Overflow is what Handle does with a record when the queue is full.
type Overflow int

const (
	// OverflowDrop makes room at once: the oldest TRACE/DEBUG record goes
	// first, then the oldest INFO/WARN, and only when nothing else is
	// queued the oldest ERROR/FATAL; a record that outranks nothing queued
	// is itself dropped. Handle never waits. Every drop is counted as
	// Dropped.QueueFull.
	OverflowDrop Overflow = iota
	// OverflowBlock makes Handle wait, up to BlockTimeout, until the export
	// goroutine takes a batch and so frees room: the logging goroutine is
	// slowed to the rate the receiver takes, and nothing is lost while the
	// receiver keeps answering. Past BlockTimeout the OverflowDrop rule
	// applies to that record, and later calls do not wait again until the
	// export goroutine has freed room, so a receiver that stopped answering
	// costs one BlockTimeout, not one per record.
	//
	// Handle never waits while export is switched off (SetEnabled),
	// stopped by a fatal error or shut down, nor when it is called from the
	// handler's own goroutines (an Exporter or OnError that logs through
	// the handler): those records follow OverflowDrop.
	OverflowBlock
)

// String returns the policy's name.
func (o Overflow) String() string {
	if o == OverflowBlock {
		return "block"
	}
	return "drop"
}

// entry is one encoded record waiting in the queue. The buffer comes from
// bufPool and goes back to it once the record is exported or dropped.
type entry struct {
	buf   *[]byte
	seq   uint64
	scope int32
	class uint8
	// report is set on a copy of the handler's own drop report, whose fate
	// decides what the next report counts.
	report *reportTicket
}

// reportTicket follows the copies of one drop report, one per destination
// it was queued for: the report counts as delivered when any copy was, and
// its origin learns so once every copy is settled.
type reportTicket struct {
	mu        sync.Mutex
	left      int
	delivered bool
	settled   func(delivered bool)
}

// expect sets how many copies will be settled.
func (t *reportTicket) expect(n int) {
	t.mu.Lock()
	t.left = n
	t.mu.Unlock()
}

// settle records the fate of one copy. It may run under any batcher's mu:
// settled takes only its origin's leaf lock.
func (t *reportTicket) settle(delivered bool) {
	t.mu.Lock()
	t.left--
	t.delivered = t.delivered || delivered
	done, d := t.left == 0, t.delivered
	t.mu.Unlock()
	if done {
		t.settled(d)
	}
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

// headSeq returns the seq of the oldest entry. f must not be empty.
func (f *fifo) headSeq() uint64 { return f.items[f.head].seq }

// oldestLocked returns the queue (class) whose head was logged first, or -1.
// b.mu must be held.
func (b *batcher) oldestLocked() int {
	best := -1
	for c := range b.q {
		if b.q[c].len() > 0 && (best < 0 || b.q[c].headSeq() < b.q[best].headSeq()) {
			best = c
		}
	}
	return best
}

// popLocked removes the head of class c from the queue. b.mu must be held.
func (b *batcher) popLocked(c int) entry {
	e := b.q[c].pop()
	b.queued--
	b.qbytes -= cap(*e.buf)
	return e
}

// dropQueuedLocked drops every queued record for reason r. b.mu must be
// held.
func (b *batcher) dropQueuedLocked(r dropReason) {
	for c := range b.q {
		for b.q[c].len() > 0 {
			b.releaseLocked(b.popLocked(c), false, r)
		}
	}
}

// releaseLocked ends the life of one record that left the queue: it was
// exported, or it is counted as dropped for r. b.mu must be held.
func (b *batcher) releaseLocked(e entry, exported bool, r dropReason) {
	if exported {
		b.st.Exported++
	} else {
		b.dropLocked(r, 1)
	}
	if e.report != nil {
		e.report.settle(exported)
	}
	releaseBuffer(e.buf)
}

// enqueue takes ownership of bp, an encoded record, and queues it under the
// overflow policy. Under OverflowBlock it may wait for room (see
// Overflow); it never waits on anything else.
func (b *batcher) enqueue(bp *[]byte, l slog.Level, scope int32, maxLen int) error {
	return b.push(entry{buf: bp, scope: scope, class: classOf(l)}, maxLen, false)
}

// push queues e; see enqueue. The handler's own drop report never waits.
// An optional record (a copy of another destination's drop report) is
// neither taken nor counted while export is stopped.
func (b *batcher) push(e entry, maxLen int, optional bool) error {
	block := b.opts.Overflow == OverflowBlock && e.report == nil
	e.buf = compact(e.buf)
	size := cap(*e.buf)
	b.mu.Lock()
	if _, err := b.stoppedErr(); optional && err != nil {
		b.mu.Unlock()
		releaseBuffer(e.buf)
		return err
	}
	b.st.Handled++
	// The drop report is queued while Shutdown drains, so that drops of
	// the last moments reach the backend too.
	if err := b.refuseLocked(e.report != nil); err != nil {
		b.mu.Unlock()
		releaseBuffer(e.buf)
		return err
	}
	if len(*e.buf) > maxLen {
		b.dropLocked(dropTooLarge, 1)
		b.mu.Unlock()
		releaseBuffer(e.buf)
		return ErrTooLarge
	}
	var deadline *time.Timer
	for b.queued > 0 && (b.queued >= b.opts.MaxQueueSize || b.qbytes+size > b.opts.MaxQueueBytes) {
		if b.spool != nil && b.stageLocked(b.lowestLocked()) {
			continue // a batch goes to disk: nothing is lost, nobody waits
		}
		if block && !b.stalled && !b.isOwnGoroutine() {
			if deadline == nil {
				deadline = time.NewTimer(b.opts.BlockTimeout)
				defer deadline.Stop()
			}
			if !b.waitRoomLocked(deadline.C) {
				// Past BlockTimeout, or export stopped while we waited.
				if err := b.refuseLocked(e.report != nil); err != nil {
					b.mu.Unlock()
					releaseBuffer(e.buf)
					return err
				}
				b.stalled = true
			}
			continue
		}
		victim := b.lowestLocked()
		if victim > int(e.class) {
			// Everything queued outranks this record: it is the one to go.
			b.dropLocked(dropQueueFull, 1)
			b.mu.Unlock()
			releaseBuffer(e.buf)
			return ErrQueueFull
		}
		b.releaseLocked(b.popLocked(victim), false, dropQueueFull)
	}
	b.seq++
	e.seq = b.seq
	b.q[e.class].push(e)
	b.queued++
	b.qbytes += size
	// A full batch goes at once (ready checks); an ERROR, memory pressure
	// or Shutdown's drain (only a drop report gets here then) make all that
	// is queued due, partial batches too.
	urgent := 2*b.qbytes >= b.opts.MaxQueueBytes || e.class == classHigh || b.closed.Load()
	if urgent {
		b.due = b.seq
	}
	trigger := urgent || b.queued >= b.opts.BatchSize
	pressed := b.queued >= b.opts.MaxQueueSize/4
	b.mu.Unlock()
	if trigger {
		b.poke()
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

// lowestLocked returns the lowest class that has a queued record.
func (b *batcher) lowestLocked() int {
	c := 0
	for c < numClasses && b.q[c].len() == 0 {
		c++
	}
	return c
}

// stoppedErr says why records are not accepted now: export is shut down,
// stopped by a fatal error or switched off. nil means they are.
func (b *batcher) stoppedErr() (dropReason, error) {
	switch {
	case b.closed.Load():
		return dropShutdown, ErrShutdown
	case b.disabled.Load():
		return dropFatal, ErrExportFailed
	case b.paused.Load():
		return dropPaused, ErrPaused
	}
	return 0, nil
}

// refuseLocked counts a record as dropped and returns the error for Handle
// if records are not accepted now. A drop report is still accepted after
// Shutdown began. b.mu must be held, and Handled already counted.
func (b *batcher) refuseLocked(report bool) error {
	r, err := b.stoppedErr()
	if err == nil || (report && r == dropShutdown && !b.disabled.Load() && !b.paused.Load()) {
		return nil
	}
	b.dropLocked(r, 1)
	return err
}

// waitRoomLocked waits, with b.mu released meanwhile, until the export
// goroutine takes records from the queue, export stops, or expired fires.
// It reports false if the wait did not end with room made. b.mu must be
// held.
func (b *batcher) waitRoomLocked(expired <-chan time.Time) bool {
	// Whatever is queued is due now: with the queue full by bytes but
	// short of BatchSize, nothing else would send it.
	b.due = b.seq
	room := b.room
	b.waiters++
	b.mu.Unlock()
	b.poke()
	ok := false
	select {
	case <-room:
		ok = true
	case <-expired:
	case <-b.stopping:
	}
	b.mu.Lock()
	b.waiters--
	_, stopped := b.stoppedErr()
	return ok && stopped == nil
}

// wakeWaitersLocked ends every wait for room: records were taken from the
// queue, or export stopped. b.mu must be held.
func (b *batcher) wakeWaitersLocked() {
	b.stalled = false
	if b.waiters > 0 {
		close(b.room)
		b.room = make(chan struct{})
	}
}

// wakeWaiters is wakeWaitersLocked for callers without the lock.
func (b *batcher) wakeWaiters() {
	b.mu.Lock()
	b.wakeWaitersLocked()
	b.mu.Unlock()
}

// poke wakes the export goroutine without blocking; wakes coalesce.
func (b *batcher) poke() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// refuse counts a record that Handle did not even encode because export was
// off or shut down when it looked. Counting it here, not in enqueue, means
// no unencoded record can reach the queue if export comes back on meanwhile.
func (b *batcher) refuse() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.st.Handled++
	if err := b.refuseLocked(false); err != nil {
		return err
	}
	// Export came back on since Handle looked: the record was not encoded,
	// so it is still counted as refused while off.
	b.dropLocked(dropPaused, 1)
	return ErrPaused
}

// take moves up to BatchSize of the oldest queued records, in the order they
// were logged, into dst, and wakes Handle calls waiting for room.
func (b *batcher) take(dst []entry) []entry {
	b.mu.Lock()
	defer b.mu.Unlock()
	dst = dst[:0]
	for len(dst) < b.opts.BatchSize {
		c := b.oldestLocked()
		if c < 0 {
			break
		}
		dst = append(dst, b.popLocked(c))
	}
	b.inflight += len(dst)
	if len(dst) > 0 {
		b.wakeWaitersLocked()
	}
	return dst
}

// settle ends the life of records taken by the worker: exported of them were
// accepted, the rest dropped for reason.
func (b *batcher) settle(es []entry, exported int, reason dropReason) {
	b.mu.Lock()
	b.inflight -= len(es)
	for i := range es {
		b.releaseLocked(es[i], i < exported, reason)
		es[i] = entry{}
	}
	b.mu.Unlock()
}

// Queued records are kept in buffers of their own size class, not in the
// 1 KiB buffers Handle encodes into: a protobuf record is ~150-300 bytes, so
// a queue sized for a stall holds four times as many records in the same
// memory (and MaxQueueBytes, which counts capacity, counts what is held).
var (
	smallBufs  = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}
	mediumBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}
)

// compact returns bp's record in a buffer of the smallest class that holds
// it, giving bp back to its pool; a record larger than the classes stays.
func compact(bp *[]byte) *[]byte {
	n := len(*bp)
	var pool *sync.Pool
	switch {
	case n <= 256 && cap(*bp) > 256:
		pool = &smallBufs
	case n > 256 && n <= 512 && cap(*bp) > 512:
		pool = &mediumBufs
	default:
		return bp
	}
	out := pool.Get().(*[]byte)
	*out = append((*out)[:0], *bp...)
	putBuffer(bp)
	return out
}

// releaseBuffer gives a queued record's buffer back to its pool.
func releaseBuffer(bp *[]byte) {
	switch cap(*bp) {
	case 256:
		*bp = (*bp)[:0]
		smallBufs.Put(bp)
	case 512:
		*bp = (*bp)[:0]
		mediumBufs.Put(bp)
	default:
		putBuffer(bp)
	}
}

// Goroutines of the handler's own (the export goroutine and the senders)
// must never wait for room: room is made by them. They register their ids,
// and isOwnGoroutine checks the caller against them. It parses the
// goroutine id from runtime.Stack, which costs about a microsecond, so it
// runs only when Handle is about to wait, never on the hot path.

func (b *batcher) registerOwn() {
	id := goid()
	b.mu.Lock()
	b.own = append(b.own, id)
	b.mu.Unlock()
}

// isOwnGoroutine reports whether the caller is one of the handler's own
// goroutines. b.mu must be held.
func (b *batcher) isOwnGoroutine() bool {
	if len(b.own) == 0 {
		return false
	}
	return slices.Contains(b.own, goid())
}

// isOwn is isOwnGoroutine for callers without the lock.
func (b *batcher) isOwn() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.isOwnGoroutine()
}

// goid returns the calling goroutine's id, read from the first line of its
// stack trace: "goroutine 123 [running]:".
func goid() uint64 {
	var buf [64]byte
	s := buf[:runtime.Stack(buf[:], false)]
	s, _ = bytes.CutPrefix(s, []byte("goroutine "))
	if i := bytes.IndexByte(s, ' '); i > 0 {
		s = s[:i]
	}
	id, _ := strconv.ParseUint(string(s), 10, 64)
	return id
}

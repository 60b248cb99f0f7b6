package slogotlp

import (
	"log/slog"
	"runtime"
)

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

// dropQueuedLocked drops every queued record for reason r. b.mu must be
// held.
func (b *batcher) dropQueuedLocked(r dropReason) {
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
		b.dropLocked(dropShutdown, 1)
		err = ErrShutdown
	case b.disabled.Load():
		b.dropLocked(dropFatal, 1)
		err = ErrExportFailed
	case b.paused.Load():
		b.dropLocked(dropPaused, 1)
		err = ErrPaused
	case len(*bp) > maxLen:
		b.dropLocked(dropTooLarge, 1)
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
			b.dropLocked(dropQueueFull, 1)
			b.mu.Unlock()
			putBuffer(bp)
			return ErrQueueFull
		}
		e := b.q[victim].pop()
		b.queued--
		b.qbytes -= cap(*e.buf)
		b.dropLocked(dropQueueFull, 1)
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
		b.dropLocked(dropShutdown, 1)
		return ErrShutdown
	}
	if b.disabled.Load() {
		b.dropLocked(dropFatal, 1)
		return ErrExportFailed
	}
	b.dropLocked(dropPaused, 1)
	return ErrPaused
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
func (b *batcher) settle(es []entry, exported int, reason dropReason) {
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

package slogotlp

import (
	"errors"
	"fmt"
)

// This file sends spooled payloads back. The dispatcher hands restore jobs
// to the senders ahead of new batches, at start and whenever the receiver
// answers again after failing (restoreDue), until the spool is empty or a
// payload could not be delivered. Each job claims the oldest payload no
// other process holds and sends it as it was written (protobuf) or
// transcoded (appendRequestJSON) for a JSON exporter, with the retries and
// backoff of a batch:
//   - a 2xx removes the file; a partial success too, its rejected records
//     counted in RestoreRejected;
//   - a refusal (4xx) or a fatal error removes it, every record counted in
//     RestoreRejected: it would never be taken;
//   - a 413 splits it in halves, sent one after the other;
//   - while the receiver is unreachable the job keeps probing it, as a
//     batch does; a receiver still failing after MaxRetryTime, or Shutdown,
//     leaves the file on disk (released), and restoring stops until the
//     receiver answers again. A payload that failed for MaxRetryTime is not
//     tried again in this run, so that one the receiver chokes on cannot
//     hold up the others.

// restore sends the oldest spooled payload. It reports empty when there was
// none, halted when it stopped without delivering one.
func (s *sender) restore() (empty, halted bool) {
	b := s.b
	first := "" // the first payload skipped in this call
	for {
		if b.disabled.Load() || b.aborted() {
			return false, true
		}
		it, err := b.spool.next()
		if err != nil {
			b.notify(failSpool, scrubSpoolPath(err, b.spoolRoot))
			if errors.Is(err, errSpoolCorrupt) {
				continue // removed and counted; on to the next
			}
			return false, true
		}
		if it == nil {
			return true, false
		}
		if b.isSkipped(it.name) {
			b.spool.release(it)
			if it.name == first {
				return true, false // only skipped ones are left
			}
			if first == "" {
				first = it.name
			}
			continue
		}
		if age := b.opts.SpoolMaxAge; age > 0 && b.now().Sub(it.created) > age {
			b.settleRestored(it, 0, 0, it.records)
			continue
		}
		accepted, rejected, keep := s.restoreSend(it.req, it.records)
		if keep {
			b.spool.release(it)
			b.mu.Lock()
			b.st.Restored += uint64(accepted)
			b.st.RestoreRejected += uint64(rejected)
			if !b.stoppingNow() {
				b.skipped[it.name] = true
			}
			b.mu.Unlock()
			return false, true
		}
		b.settleRestored(it, accepted, rejected, 0)
		return false, false
	}
}

// settleRestored removes a restored payload from the spool and counts its
// records: accepted by the receiver, rejected by it, or expired unsent.
func (b *batcher) settleRestored(it *spoolItem, accepted, rejected, expired int) {
	err := b.spool.remove(it)
	b.mu.Lock()
	b.st.Restored += uint64(accepted)
	b.st.RestoreRejected += uint64(rejected)
	b.st.SpoolEvicted += uint64(expired)
	b.mu.Unlock()
	if err != nil {
		b.notify(failSpool, scrubSpoolPath(err, b.spoolRoot))
	}
	if expired > 0 {
		b.notify(failSpoolEvicted, fmt.Errorf("slogotlp: removed %d spooled records older than SpoolMaxAge (%v), unsent",
			expired, b.opts.SpoolMaxAge))
	}
}

func (b *batcher) isSkipped(name string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.skipped[name]
}

// isRetrying reports whether a sender is between failed attempts.
func (b *batcher) isRetrying() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.retrying > 0
}

// restoreSend sends req, a spooled ExportLogsServiceRequest of n records,
// retrying and splitting as the answers ask. It returns how many records
// the receiver accepted and rejected, and keep when it gave up on the
// receiver: the payload is to stay on disk.
func (s *sender) restoreSend(req []byte, n int) (accepted, rejected int, keep bool) {
	b := s.b
	payload := req
	if b.framing.format != FormatProtobuf {
		s.restJS = appendRequestJSON(s.restJS[:0], req)
		payload = s.restJS
	}
	start := b.now()
	retrying := retryMark{b: b}
	defer retrying.clear()
	for attempt := 0; ; attempt++ {
		res := b.exportOnce(payload, n)
		b.noteAttempt(attempt, res)
		switch res.Outcome {
		case ExportSuccess:
			rejected := int(min(max(res.Rejected, 0), int64(n)))
			if rejected > 0 || res.Err != nil {
				b.notify(failPartial, fmt.Errorf("slogotlp: the receiver took a payload restored from the disk spool "+
					"but rejected %d of %d records (receivers may refuse old records: Logfire refuses those over "+
					"24 hours old): %s", rejected, n, causeText(res.Err)))
			}
			return n - rejected, rejected, false
		case ExportTooLarge:
			lo, hi, nlo, nhi := splitRequest(req)
			if nlo == 0 {
				b.notify(failTooLarge, fmt.Errorf("slogotlp: removed a record restored from the disk spool that the "+
					"receiver refused as too large even alone: %s", causeText(res.Err)))
				return 0, n, false
			}
			a1, r1, k1 := s.restoreSend(lo, nlo)
			if k1 {
				return a1, r1, true
			}
			a2, r2, k2 := s.restoreSend(hi, nhi)
			return a1 + a2, r1 + r2, k2
		case ExportRejected:
			b.notify(failRejected, fmt.Errorf("slogotlp: removed %d records restored from the disk spool that the "+
				"receiver refused: %s", n, causeText(res.Err)))
			return 0, n, false
		case ExportRetryable:
			retrying.set()
			if !res.Offline && b.now().Sub(start) >= b.opts.MaxRetryTime {
				b.notify(failGaveUp, fmt.Errorf("slogotlp: a payload of %d records restored from the disk spool still "+
					"failed after MaxRetryTime (%v); it stays in the spool for the next start: %s",
					n, b.opts.MaxRetryTime, causeText(res.Err)))
				return 0, 0, true
			}
			d := b.backoff(attempt)
			if res.RetryAfter > 0 {
				d = res.RetryAfter
			}
			if !b.wait(d, res.Offline) {
				return 0, 0, true
			}
		default: // Fatal, or an outcome this version does not know.
			b.disable(res.Err)
			return 0, n, false
		}
	}
}

// splitRequest divides a protobuf ExportLogsServiceRequest into two: its
// first half of records and the rest, each under the resource and scopes
// that held them (a scope left with none is left out). nlo and nhi count
// their records; both are 0, and lo and hi nil, when req holds fewer than
// two.
func splitRequest(req []byte) (lo, hi []byte, nlo, nhi int) {
	total := countRequestRecords(req)
	if total < 2 {
		return nil, nil, 0, 0
	}
	nlo = total / 2
	return subRequest(nil, req, 0, nlo), subRequest(nil, req, nlo, total), nlo, total - nlo
}

// countRequestRecords counts the log records of a protobuf request.
func countRequestRecords(req []byte) int {
	n := 0
	for rl, rest, ok := nextField(req); ok; rl, rest, ok = nextField(rest) {
		if rl.tag != tagResourceLogs {
			continue
		}
		for sl, r2, ok := nextField(rl.data); ok; sl, r2, ok = nextField(r2) {
			if sl.tag == tagScopeLogs {
				n += countScopeRecords(sl.data)
			}
		}
	}
	return n
}

func countScopeRecords(sl []byte) int {
	n := 0
	for f, rest, ok := nextField(sl); ok; f, rest, ok = nextField(rest) {
		if f.tag == tagLogRecord {
			n++
		}
	}
	return n
}

// subRequest appends to dst the request req holding only its records from
// index from up to to, in order. Fields other than scopeLogs and records
// are copied as they are.
func subRequest(dst, req []byte, from, to int) []byte {
	i := 0
	for rl, rest, ok := nextField(req); ok; rl, rest, ok = nextField(rest) {
		if rl.tag != tagResourceLogs {
			dst = appendProtoField(dst, rl)
			continue
		}
		var rlStart int
		dst, rlStart = openLen(dst, tagResourceLogs)
		for f, r2, ok := nextField(rl.data); ok; f, r2, ok = nextField(r2) {
			if f.tag != tagScopeLogs {
				dst = appendProtoField(dst, f)
				continue
			}
			n := countScopeRecords(f.data)
			if i+n <= from || i >= to {
				i += n
				continue
			}
			var slStart int
			dst, slStart = openLen(dst, tagScopeLogs)
			for g, r3, ok := nextField(f.data); ok; g, r3, ok = nextField(r3) {
				if g.tag != tagLogRecord {
					dst = appendProtoField(dst, g)
					continue
				}
				if i >= from && i < to {
					dst = appendProtoField(dst, g)
				}
				i++
			}
			dst = closeLen(dst, slStart)
		}
		dst = closeLen(dst, rlStart)
	}
	return dst
}

// appendProtoField appends f as nextField read it.
func appendProtoField(dst []byte, f protoField) []byte {
	dst = appendVarint(dst, f.tag)
	switch f.tag & 7 {
	case wireVarint:
		return appendVarint(dst, f.num)
	case wireI64:
		return appendFixed64(dst, f.num)
	case wireI32:
		return appendFixed32(dst, uint32(f.num))
	}
	dst = appendVarint(dst, uint64(len(f.data)))
	return append(dst, f.data...)
}

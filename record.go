package slogotlp

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// EventNameKey is the attribute key that makes a record an OpenTelemetry
// event: a string attribute with this key, passed to a log call or to With
// (not inside a slog.Group value), sets the LogRecord's event name and is
// not exported as an attribute. The last one wins, the record's own over the
// bound ones; an empty string clears the name. A value of another kind stays
// an ordinary attribute.
//
//	logger.Info("user logged in", slogotlp.EventNameKey, "user.login", "user", id)
//
// The key is the semantic conventions' otel.event.name, which they provide
// for exactly this: logging libraries without an event-name field, whose
// bridge or SDK moves it to the EventName field.
const EventNameKey = "otel.event.name"

// defaultAttributeCountLimit is the OpenTelemetry default for
// OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT.
const defaultAttributeCountLimit = 128

// The times OTLP's fixed64 nanoseconds can hold (time.UnixNano's range,
// from 1970).
var (
	minTime = time.Unix(0, 0)
	maxTime = time.Unix(0, 1<<63-1)
)

// appendRecord appends r as the fields of one protobuf LogRecord. The fields
// come in the order OTLP/JSON readers are used to (times, severity, body,
// event name, attributes, trace context), which protobuf allows;
// appendRecordJSON keeps that order.
func (h *Handler) appendRecord(buf []byte, ctx context.Context, r slog.Record, now time.Time) []byte {
	c := h.c
	e := &c.enc

	// What the caller passed directly, in the order later wins: bound with
	// With, from the context, then the record's own.
	var rs *replaceScratch
	if e.replace != nil {
		rs = getScratch()
		defer putScratch(rs)
	}
	d := direct{err: h.exc, event: h.event}
	var cattrs []slog.Attr
	if len(e.fromCtx) > 0 && ctx != nil {
		var carr [8]slog.Attr // zeroed only when there are functions
		cattrs = carr[:0]
		for _, f := range e.fromCtx {
			cattrs = e.collect(cattrs, f(ctx), rs, &d) // in no group
		}
	}
	h.openGroups(rs)
	var arr [24]slog.Attr
	attrs := arr[:0]
	r.Attrs(func(a slog.Attr) bool {
		attrs = e.collectAttr(attrs, a, rs, &d)
		return true
	})

	// A zero time is "unknown" (slog's Handler contract says to ignore it),
	// and OTLP's unsigned nanoseconds cannot hold one before 1970 or after
	// 2262: either way timeUnixNano stays unset, which the log data model
	// defines as missing, and receivers use observedTimeUnixNano.
	if t := r.Time; !t.IsZero() && !t.Before(minTime) && !t.After(maxTime) {
		buf = append(buf, tagTime)
		buf = appendFixed64(buf, uint64(t.UnixNano()))
	}
	buf = append(buf, tagObservedTime)
	buf = appendFixed64(buf, uint64(now.UnixNano()))
	buf = append(buf, tagSeverityNumber)
	buf = appendVarint(buf, uint64(severityNumber(r.Level)))
	buf, start := openLen(buf, tagSeverityText)
	buf = appendSeverityText(buf, r.Level)
	buf = closeLen(buf, start)
	buf, start = openLen(buf, tagBody)
	buf = appendStringField(buf, tagString, r.Message, e.maxValueLen)
	buf = closeLen(buf, start)
	if d.event != "" {
		buf = appendStringField(buf, tagEventName, d.event, 0)
	}

	t := topLevel{bound: &h.groups[0], cattrs: cattrs, limit: e.countLimit, tent: -1, dropped: h.groups[0].dropped}
	if len(h.groups) > 1 {
		t.group = h.groups[1].name
	} else {
		t.attrs = attrs
	}
	buf = h.appendDerived(buf, &t, r, d.err)
	buf = h.appendTop(buf, &t, attrs)
	if t.dropped > 0 {
		buf = append(buf, tagDroppedAttributes)
		buf = appendVarint(buf, uint64(t.dropped))
	}

	if ctx != nil {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			// Any valid span context correlates, sampled or not.
			tid, sid := sc.TraceID(), sc.SpanID()
			buf = appendBytesField(buf, tagTraceID, tid[:])
			buf = appendBytesField(buf, tagSpanID, sid[:])
			buf = append(buf, tagFlags)
			buf = appendFixed32(buf, uint32(sc.TraceFlags()))
		}
	}
	return buf
}

// openGroups sets rs, if not nil, in h's WithGroup groups, which hold the
// record's own attributes.
func (h *Handler) openGroups(rs *replaceScratch) {
	if rs == nil {
		return
	}
	for _, g := range h.groups[1:] {
		rs.groups = append(rs.groups, g.name)
	}
}

// topLevel is the state of writing one record's own attribute list (the
// attributes outside every group): the keys the caller gives it, the count
// limit, and the attribute that the first WithGroup group replaces when it
// turns out non-empty.
type topLevel struct {
	bound  *groupFrame // attributes bound with With before any WithGroup
	cattrs []slog.Attr // attributes from the context
	attrs  []slog.Attr // the record's own attributes, when no group holds them
	group  string      // the first WithGroup group's name, "" without one
	limit  int         // the most attributes; < 0: no limit
	n      int         // attributes written
	// dropped counts the attributes left out: over the limit, or with an
	// empty key (the log data model wants keys non-empty).
	dropped   int
	tent, end int // where the written attribute named group is, tent -1: none
	// source is the key of what ReplaceAttr made of the source, when it
	// made an attribute of its own.
	source string
}

// callerHas reports whether the caller's own attributes give the record key
// k at the top level, so that a derived attribute of that key must yield.
func (t *topLevel) callerHas(k string) bool {
	return slices.Contains(t.bound.keys, k) || shadowed(k, t.cattrs) || shadowed(k, t.attrs) ||
		(t.source != "" && k == t.source)
}

// put accounts for the attribute named k that was just written from start
// to the end of buf: it stays if the count limit allows, else it is removed
// and counted as dropped. Nothing written (an empty group) is no attribute.
func (t *topLevel) put(buf []byte, start int, k string) []byte {
	if len(buf) == start {
		return buf
	}
	if t.limit >= 0 && t.n >= t.limit {
		t.dropped++
		return buf[:start]
	}
	t.n++
	if t.group != "" && k == t.group {
		t.tent, t.end = start, len(buf)
	}
	return buf
}

// appendTop appends the record's own attribute list after the derived
// attributes: the attributes bound before any WithGroup, those from the
// context, then the record's own or the first group holding them. The last
// of each key wins.
func (h *Handler) appendTop(buf []byte, t *topLevel, attrs []slog.Attr) []byte {
	e := &h.c.enc
	lv := t.bound
	clash := t.group != "" && slices.Contains(lv.keys, t.group)
	for _, k := range lv.keys {
		clash = clash || shadowed(k, t.cattrs) || shadowed(k, t.attrs)
	}
	if !clash && (t.limit < 0 || t.n+len(lv.keys) <= t.limit) {
		buf = append(buf, lv.enc...)
		t.n += len(lv.keys)
	} else {
		for j, k := range lv.keys {
			if shadowed(k, t.cattrs) || shadowed(k, t.attrs) {
				continue
			}
			start := len(buf)
			buf = append(buf, lv.enc[lv.segStart(j):lv.ends[j]]...)
			buf = t.put(buf, start, k)
		}
	}
	buf = e.appendTopAttrs(buf, t, t.cattrs, t.attrs)
	if t.group == "" {
		return e.appendTopAttrs(buf, t, t.attrs, nil)
	}

	// The first group is one more attribute. When it is not empty it
	// replaces the attribute of its name written before it.
	mark := len(buf)
	buf, ok := h.appendGroupAttr(buf, 1, attrs)
	if !ok {
		return buf
	}
	if t.tent >= 0 {
		return append(buf[:t.tent], buf[t.end:]...) // the group takes its place in the count
	}
	return t.put(buf, mark, t.group)
}

// appendTopAttrs appends collected top-level attrs, leaving out those a
// later one of the same list or of later repeats, and those with an empty
// key (counted as dropped).
func (e *encoder) appendTopAttrs(buf []byte, t *topLevel, attrs, later []slog.Attr) []byte {
	for i, a := range attrs {
		if shadowed(a.Key, attrs[i+1:]) || shadowed(a.Key, later) {
			continue
		}
		if a.Key == "" {
			t.dropped++
			continue
		}
		start := len(buf)
		buf = e.appendAttr(buf, tagAttribute, a, 0)
		buf = t.put(buf, start, a.Key)
	}
	return buf
}

// appendGroup appends the bound attributes of group frame i (i >= 1), then
// either the record's attributes (innermost frame) or the next group, which
// is left out when it ends up empty.
func (h *Handler) appendGroup(buf []byte, i int, attrs []slog.Attr) []byte {
	lv := &h.groups[i]
	if i == len(h.groups)-1 {
		buf = lv.appendBound(buf, attrs)
		return h.c.enc.appendAttrs(buf, elemTag(i), attrs, i)
	}
	var held []byte // the attribute the group replaces, if any
	if j := lv.shadow; j >= 0 {
		start := lv.segStart(j)
		held = lv.enc[start:lv.ends[j]]
		buf = append(buf, lv.enc[:start]...)
		buf = append(buf, lv.enc[lv.ends[j]:]...)
	} else {
		buf = append(buf, lv.enc...)
	}
	// The next group is one more attribute of this frame.
	buf, ok := h.appendGroupAttr(buf, i+1, attrs)
	if !ok {
		return append(buf, held...)
	}
	return buf
}

// appendGroupAttr appends group frame i (i >= 1) as one KeyValue element of
// the frame above: the group's name, and a kvlist value holding its frame
// and those inside it. It appends nothing and reports false when that
// kvlist would be empty.
func (h *Handler) appendGroupAttr(buf []byte, i int, attrs []slog.Attr) ([]byte, bool) {
	mark := len(buf)
	buf, kstart := openLen(buf, elemTag(i-1))
	buf = appendStringField(buf, tagKey, h.groups[i].name, 0)
	buf, vstart := openLen(buf, tagValue)
	buf, lstart := openLen(buf, tagKvlist)
	buf = h.appendGroup(buf, i, attrs)
	if len(buf) == lstart {
		return buf[:mark], false
	}
	buf = closeLen(buf, lstart)
	buf = closeLen(buf, vstart)
	return closeLen(buf, kstart), true
}

// segStart returns where bound attribute j starts in enc.
func (lv *groupFrame) segStart(j int) int {
	if j == 0 {
		return 0
	}
	return lv.ends[j-1]
}

// appendBound appends the frame's bound attributes, leaving out any whose key
// one of the record's attributes repeats (the record's value wins).
func (lv *groupFrame) appendBound(buf []byte, attrs []slog.Attr) []byte {
	clash := false
	for _, k := range lv.keys {
		if shadowed(k, attrs) {
			clash = true
			break
		}
	}
	if !clash {
		return append(buf, lv.enc...)
	}
	start := 0
	for j, k := range lv.keys {
		if !shadowed(k, attrs) {
			buf = append(buf, lv.enc[start:lv.ends[j]]...)
		}
		start = lv.ends[j]
	}
	return buf
}

// withAttrs is WithAttrs for a non-empty attrs: it collects and encodes them
// once, into the innermost group frame of a copy of h.
func (h *Handler) withAttrs(attrs []slog.Attr) *Handler {
	h2 := *h
	e := &h.c.enc
	var rs *replaceScratch
	if e.replace != nil {
		rs = &replaceScratch{}
		h.openGroups(rs)
	}
	d := direct{err: h.exc, event: h.event}
	var arr [16]slog.Attr
	eff := e.collect(arr[:0], attrs, rs, &d)
	h2.exc, h2.event = d.err, d.event
	depth := len(h.groups) - 1
	if depth == 0 {
		eff = slices.DeleteFunc(eff, func(a slog.Attr) bool {
			if a.Key == ScopeKey && a.Value.Kind() == slog.KindString {
				h2.scope = h.c.scopes.id(a.Value.String(), "")
				return true
			}
			return false
		})
	}
	h2.groups = slices.Clone(h.groups)
	last := &h2.groups[depth]
	nl := groupFrame{name: last.name, shadow: -1, dropped: last.dropped}
	start := 0
	for j, k := range last.keys {
		if !shadowed(k, eff) {
			nl.enc = append(nl.enc, last.enc[start:last.ends[j]]...)
			nl.keys = append(nl.keys, k)
			nl.ends = append(nl.ends, len(nl.enc))
		}
		start = last.ends[j]
	}
	for i, a := range eff {
		if shadowed(a.Key, eff[i+1:]) {
			continue
		}
		if depth == 0 && a.Key == "" {
			// The log data model wants attribute keys non-empty.
			nl.dropped++
			continue
		}
		n := len(nl.enc)
		nl.enc = e.appendAttr(nl.enc, elemTag(depth), a, depth)
		if len(nl.enc) > n {
			nl.keys = append(nl.keys, a.Key)
			nl.ends = append(nl.ends, len(nl.enc))
		}
	}
	*last = nl
	return &h2
}

package slogotlp

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/trace"
)

// maxDepth bounds how deep nested groups, slices and maps are encoded, so a
// cyclic value cannot recurse forever. Deeper values become "!DEPTH".
const maxDepth = 16

// isEmptyAttr reports whether a is the zero Attr, which slog handlers ignore.
// (Attr.Equal is not used: it panics on values of uncomparable types.)
func isEmptyAttr(a slog.Attr) bool {
	return a.Key == "" && a.Value.Kind() == slog.KindAny && a.Value.Any() == nil
}

// collect appends attrs to dst in the form the encoder writes them: values
// resolved, empty attrs and empty groups dropped, groups with an empty key
// inlined. It returns the first error value it met at this level, if any.
func collect(dst []slog.Attr, attrs []slog.Attr, firstErr error) ([]slog.Attr, error) {
	for _, a := range attrs {
		a.Value = a.Value.Resolve()
		if isEmptyAttr(a) {
			continue
		}
		// Compare keys as they will be written, so two keys that differ
		// only in invalid bytes are duplicates too.
		a.Key = validUTF8(a.Key)
		if a.Value.Kind() == slog.KindGroup {
			g := a.Value.Group()
			if len(g) == 0 {
				continue
			}
			if a.Key == "" {
				dst, firstErr = collect(dst, g, firstErr)
				continue
			}
		}
		if firstErr == nil && a.Value.Kind() == slog.KindAny {
			if err, ok := a.Value.Any().(error); ok && err != nil {
				firstErr = err
			}
		}
		dst = append(dst, a)
	}
	return dst, firstErr
}

// validUTF8 returns s with each invalid byte replaced by U+FFFD, as
// appendString writes it. Valid strings (nearly all) cost one scan.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		sb.WriteRune(r) // RuneError for an invalid byte
		i += size
	}
	return sb.String()
}

// shadowed reports whether key appears among later. slog allows duplicate
// keys but OTLP forbids them in one list; the last value wins. Attribute
// lists are short, so a scan beats building a map per record.
func shadowed(key string, later []slog.Attr) bool {
	for _, b := range later {
		if b.Key == key {
			return true
		}
	}
	return false
}

// encoder holds the per-handler settings the record encoder needs.
type encoder struct {
	maxValueLen int
	trimPath    func(string) string
}

// elemTag is the tag of an attribute element at group frame depth: a
// LogRecord's own attributes at the top, KeyValueList values inside groups.
func elemTag(depth int) byte {
	if depth == 0 {
		return tagAttribute
	}
	return tagListValue
}

// appendAttrs appends each of the already collected attrs as a KeyValue
// element (field tag), skipping any whose key a later attr repeats.
func (e *encoder) appendAttrs(buf []byte, tag byte, attrs []slog.Attr, depth int) []byte {
	for i, a := range attrs {
		if shadowed(a.Key, attrs[i+1:]) {
			continue
		}
		buf = e.appendAttr(buf, tag, a, depth)
	}
	return buf
}

// appendAttr appends one KeyValue element (field tag). A group whose members
// all turn out empty is rolled back, as slog omits empty groups.
func (e *encoder) appendAttr(buf []byte, tag byte, a slog.Attr, depth int) []byte {
	mark := len(buf)
	buf, start := openLen(buf, tag)
	buf = appendStringField(buf, tagKey, a.Key, 0)
	buf, vstart := openLen(buf, tagValue)
	buf, ok := e.appendValue(buf, a.Value, depth)
	if !ok {
		return buf[:mark]
	}
	buf = closeLen(buf, vstart)
	return closeLen(buf, start)
}

// appendValue appends v (resolved) as the content of an OTLP AnyValue: the
// one field of its oneof, or nothing for an empty value. It reports false
// when v is a group that ends up empty, so the caller can omit the
// attribute.
func (e *encoder) appendValue(buf []byte, v slog.Value, depth int) ([]byte, bool) {
	switch v.Kind() {
	case slog.KindString:
		return appendStringField(buf, tagString, v.String(), e.maxValueLen), true
	case slog.KindInt64:
		return appendIntValue(buf, v.Int64()), true
	case slog.KindUint64:
		if u := v.Uint64(); u > math.MaxInt64 {
			// OTLP has no unsigned integer: rather than wrap to a negative
			// number, keep the exact decimal digits as a string.
			return appendUintString(buf, u), true
		}
		return appendIntValue(buf, int64(v.Uint64())), true
	case slog.KindFloat64:
		buf = append(buf, tagDouble)
		return appendFixed64(buf, math.Float64bits(v.Float64())), true
	case slog.KindBool:
		b := byte(0)
		if v.Bool() {
			b = 1
		}
		return append(buf, tagBool, b), true
	case slog.KindDuration:
		return appendIntValue(buf, int64(v.Duration())), true
	case slog.KindTime:
		buf, start := openLen(buf, tagString)
		buf = v.Time().AppendFormat(buf, time.RFC3339Nano)
		return closeLen(buf, start), true
	case slog.KindGroup:
		if depth >= maxDepth {
			return e.appendDepthExceeded(buf), true
		}
		var arr [16]slog.Attr
		attrs, _ := collect(arr[:0], v.Group(), nil)
		buf, lstart := openLen(buf, tagKvlist)
		buf = e.appendAttrs(buf, tagListValue, attrs, depth+1)
		if len(buf) == lstart {
			return buf[:lstart-2], false
		}
		return closeLen(buf, lstart), true
	case slog.KindLogValuer:
		// Resolve already ran; a LogValuer that returns another LogValuer
		// past slog's own limit lands here.
		return e.appendValue(buf, v.Resolve(), depth+1)
	default:
		return e.appendAny(buf, v.Any(), depth), true
	}
}

func appendIntValue(buf []byte, n int64) []byte {
	buf = append(buf, tagInt)
	return appendVarint(buf, uint64(n))
}

func (e *encoder) appendDepthExceeded(buf []byte) []byte {
	return appendStringField(buf, tagString, "!DEPTH", 0)
}

// appendAny encodes a KindAny value: []byte as bytesValue, an error as its
// message, slices and arrays as arrayValue, maps with string keys as
// kvlistValue (sorted by key, so output is stable), anything else as the
// string fmt's %+v gives. A panic in the value's own methods is recovered
// and shown as "!PANIC: ..." instead of crashing the caller.
func (e *encoder) appendAny(buf []byte, x any, depth int) (out []byte) {
	mark := len(buf)
	defer func() {
		if r := recover(); r != nil {
			out = appendStringField(buf[:mark], tagString, fmt.Sprintf("!PANIC: %v", r), e.maxValueLen)
		}
	}()
	if depth >= maxDepth {
		return e.appendDepthExceeded(buf)
	}
	switch x := x.(type) {
	case nil:
		return buf
	case []byte:
		return appendBytesField(buf, tagBytes, x)
	case error:
		return appendStringField(buf, tagString, x.Error(), e.maxValueLen)
	case fmt.Stringer:
		return appendStringField(buf, tagString, x.String(), e.maxValueLen)
	}
	rv := reflect.ValueOf(x)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		buf, astart := openLen(buf, tagArray)
		for i := range rv.Len() {
			var vstart int
			buf, vstart = openLen(buf, tagListValue)
			buf = e.appendElem(buf, rv.Index(i), depth+1)
			buf = closeLen(buf, vstart)
		}
		return closeLen(buf, astart)
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		keys := rv.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		buf, lstart := openLen(buf, tagKvlist)
		for _, k := range keys {
			var kstart, vstart int
			buf, kstart = openLen(buf, tagListValue)
			buf = appendStringField(buf, tagKey, k.String(), 0)
			buf, vstart = openLen(buf, tagValue)
			buf = e.appendElem(buf, rv.MapIndex(k), depth+1)
			buf = closeLen(buf, vstart)
			buf = closeLen(buf, kstart)
		}
		return closeLen(buf, lstart)
	}
	return appendStringField(buf, tagString, fmt.Sprintf("%+v", x), e.maxValueLen)
}

// appendElem encodes an element of a slice or map through slog's own
// conversion, so an int in a []any is an intValue like an int attribute.
func (e *encoder) appendElem(buf []byte, rv reflect.Value, depth int) []byte {
	if !rv.CanInterface() {
		return buf
	}
	v := slog.AnyValue(rv.Interface()).Resolve()
	mark := len(buf)
	buf, ok := e.appendValue(buf, v, depth)
	if !ok {
		// An empty group inside a list still needs a value in its place.
		return append(buf[:mark], tagKvlist, 0)
	}
	return buf
}

// The times OTLP's fixed64 nanoseconds can hold (time.UnixNano's range,
// from 1970).
var (
	minTime = time.Unix(0, 0)
	maxTime = time.Unix(0, 1<<63-1)
)

// appendRecord appends r as the fields of one protobuf LogRecord. The fields
// come in the order OTLP/JSON readers are used to (times, severity, body,
// attributes, trace context), which protobuf allows; appendRecordJSON keeps
// that order.
func (h *Handler) appendRecord(buf []byte, ctx context.Context, r slog.Record, now time.Time) []byte {
	c := h.c
	t := r.Time
	if t.IsZero() || t.Before(minTime) || t.After(maxTime) {
		// OTLP carries time as unsigned nanoseconds since 1970; a time it
		// cannot express would make receivers refuse the whole payload.
		t = now
	}
	buf = append(buf, tagTime)
	buf = appendFixed64(buf, uint64(t.UnixNano()))
	buf = append(buf, tagObservedTime)
	buf = appendFixed64(buf, uint64(now.UnixNano()))
	buf = append(buf, tagSeverityNumber)
	buf = appendVarint(buf, uint64(severityNumber(r.Level)))
	buf, start := openLen(buf, tagSeverityText)
	buf = appendSeverityText(buf, r.Level)
	buf = closeLen(buf, start)
	buf, start = openLen(buf, tagBody)
	buf = appendStringField(buf, tagString, r.Message, c.enc.maxValueLen)
	buf = closeLen(buf, start)

	var arr [24]slog.Attr
	attrs := arr[:0]
	var recErr error
	r.Attrs(func(a slog.Attr) bool {
		attrs, recErr = collectAttr(attrs, a, recErr)
		return true
	})
	if c.addSource {
		buf = c.enc.appendSource(buf, r.PC)
	}
	if err := recErr; err != nil || h.exc != nil {
		if err == nil {
			err = h.exc
		}
		buf = c.enc.appendException(buf, err, c.stacks && r.Level >= slog.LevelError)
	}
	buf = h.appendGroup(buf, 0, attrs)

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

// appendGroup appends the bound attributes of group frame i, then either the
// record's attributes (innermost frame) or the next group, which is left out
// when it ends up empty.
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
	// The next group is one more attribute of this frame: a KeyValue whose
	// value is a kvlist holding the inner frames.
	mark := len(buf)
	buf, kstart := openLen(buf, elemTag(i))
	buf = appendStringField(buf, tagKey, h.groups[i+1].name, 0)
	buf, vstart := openLen(buf, tagValue)
	buf, lstart := openLen(buf, tagKvlist)
	buf = h.appendGroup(buf, i+1, attrs)
	if len(buf) == lstart {
		return append(buf[:mark], held...)
	}
	buf = closeLen(buf, lstart)
	buf = closeLen(buf, vstart)
	return closeLen(buf, kstart)
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

// collectAttr is collect for a single attribute.
func collectAttr(dst []slog.Attr, a slog.Attr, firstErr error) ([]slog.Attr, error) {
	return collect(dst, []slog.Attr{a}, firstErr)
}

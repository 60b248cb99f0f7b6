package slogotlp

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
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

// appendAttrs appends each of the already collected attrs as a KeyValue
// element followed by a comma, skipping any whose key a later attr repeats.
func (e *encoder) appendAttrs(buf []byte, attrs []slog.Attr, depth int) []byte {
	for i, a := range attrs {
		if shadowed(a.Key, attrs[i+1:]) {
			continue
		}
		buf = e.appendAttr(buf, a, depth)
	}
	return buf
}

// appendAttr appends one KeyValue element and a comma. A group whose members
// all turn out empty is rolled back, as slog omits empty groups.
func (e *encoder) appendAttr(buf []byte, a slog.Attr, depth int) []byte {
	mark := len(buf)
	buf = appendKey(buf, a.Key)
	buf, ok := e.appendValue(buf, a.Value, depth)
	if !ok {
		return buf[:mark]
	}
	return append(buf, "},"...)
}

// appendValue appends v (resolved) as an OTLP AnyValue. It reports false when
// v is a group that ends up empty, so the caller can omit the attribute.
func (e *encoder) appendValue(buf []byte, v slog.Value, depth int) ([]byte, bool) {
	switch v.Kind() {
	case slog.KindString:
		buf = append(buf, `{"stringValue":`...)
		buf = appendString(buf, v.String(), e.maxValueLen)
	case slog.KindInt64:
		buf = append(buf, `{"intValue":`...)
		buf = appendQuotedInt(buf, v.Int64())
	case slog.KindUint64:
		u := v.Uint64()
		if u > 1<<63-1 {
			// OTLP has no unsigned integer: rather than wrap to a negative
			// number, keep the exact decimal digits as a string.
			buf = append(buf, `{"stringValue":"`...)
			buf = strconv.AppendUint(buf, u, 10)
			buf = append(buf, '"')
		} else {
			buf = append(buf, `{"intValue":`...)
			buf = appendQuotedInt(buf, int64(u))
		}
	case slog.KindFloat64:
		buf = append(buf, `{"doubleValue":`...)
		buf = appendDouble(buf, v.Float64())
	case slog.KindBool:
		buf = append(buf, `{"boolValue":`...)
		buf = strconv.AppendBool(buf, v.Bool())
	case slog.KindDuration:
		buf = append(buf, `{"intValue":`...)
		buf = appendQuotedInt(buf, int64(v.Duration()))
	case slog.KindTime:
		buf = append(buf, `{"stringValue":"`...)
		buf = v.Time().AppendFormat(buf, time.RFC3339Nano)
		buf = append(buf, '"')
	case slog.KindGroup:
		if depth >= maxDepth {
			return e.appendDepthExceeded(buf), true
		}
		var arr [16]slog.Attr
		attrs, _ := collect(arr[:0], v.Group(), nil)
		buf = append(buf, `{"kvlistValue":{"values":[`...)
		start := len(buf)
		buf = e.appendAttrs(buf, attrs, depth+1)
		if len(buf) == start {
			return buf, false
		}
		buf = closeList(buf)
		buf = append(buf, '}')
	case slog.KindLogValuer:
		// Resolve already ran; a LogValuer that returns another LogValuer
		// past slog's own limit lands here.
		return e.appendValue(buf, v.Resolve(), depth+1)
	default:
		return e.appendAny(buf, v.Any(), depth), true
	}
	return append(buf, '}'), true
}

func (e *encoder) appendDepthExceeded(buf []byte) []byte {
	return append(buf, `{"stringValue":"!DEPTH"}`...)
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
			out = append(buf[:mark], `{"stringValue":`...)
			out = appendString(out, fmt.Sprintf("!PANIC: %v", r), e.maxValueLen)
			out = append(out, '}')
		}
	}()
	if depth >= maxDepth {
		return e.appendDepthExceeded(buf)
	}
	switch x := x.(type) {
	case nil:
		return append(buf, `{}`...)
	case []byte:
		buf = append(buf, `{"bytesValue":`...)
		buf = appendBase64(buf, x)
		return append(buf, '}')
	case error:
		return e.appendStringValue(buf, x.Error())
	case fmt.Stringer:
		return e.appendStringValue(buf, x.String())
	}
	rv := reflect.ValueOf(x)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return append(buf, `{"arrayValue":{}}`...)
		}
		buf = append(buf, `{"arrayValue":{"values":[`...)
		for i := range rv.Len() {
			buf, _ = e.appendElem(buf, rv.Index(i), depth+1)
			buf = append(buf, ',')
		}
		buf = closeList(buf)
		return append(buf, "}}"...)
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		keys := rv.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		buf = append(buf, `{"kvlistValue":{"values":[`...)
		for _, k := range keys {
			buf = appendKey(buf, k.String())
			buf, _ = e.appendElem(buf, rv.MapIndex(k), depth+1)
			buf = append(buf, "},"...)
		}
		buf = closeList(buf)
		return append(buf, "}}"...)
	}
	return e.appendStringValue(buf, fmt.Sprintf("%+v", x))
}

// appendElem encodes an element of a slice or map through slog's own
// conversion, so an int in a []any is an intValue like an int attribute.
func (e *encoder) appendElem(buf []byte, rv reflect.Value, depth int) ([]byte, bool) {
	if !rv.CanInterface() {
		return append(buf, `{}`...), true
	}
	v := slog.AnyValue(rv.Interface()).Resolve()
	mark := len(buf)
	buf, ok := e.appendValue(buf, v, depth)
	if !ok {
		// An empty group inside a list still needs a value in its place.
		return append(buf[:mark], `{"kvlistValue":{}}`...), true
	}
	return buf, true
}

func (e *encoder) appendStringValue(buf []byte, s string) []byte {
	buf = append(buf, `{"stringValue":`...)
	buf = appendString(buf, s, e.maxValueLen)
	return append(buf, '}')
}

// The times OTLP's fixed64 nanoseconds can hold (time.UnixNano's range,
// from 1970).
var (
	minTime = time.Unix(0, 0)
	maxTime = time.Unix(0, 1<<63-1)
)

// appendRecord appends r as one OTLP/JSON LogRecord object.
func (h *Handler) appendRecord(buf []byte, ctx context.Context, r slog.Record, now time.Time) []byte {
	c := h.c
	t := r.Time
	if t.IsZero() || t.Before(minTime) || t.After(maxTime) {
		// OTLP carries time as unsigned nanoseconds since 1970; a time it
		// cannot express would make receivers refuse the whole payload.
		t = now
	}
	buf = append(buf, `{"timeUnixNano":`...)
	buf = appendUnixNano(buf, t)
	buf = append(buf, `,"observedTimeUnixNano":`...)
	buf = appendUnixNano(buf, now)
	buf = append(buf, `,"severityNumber":`...)
	buf = strconv.AppendInt(buf, int64(severityNumber(r.Level)), 10)
	buf = append(buf, `,"severityText":"`...)
	buf = appendSeverityText(buf, r.Level)
	buf = append(buf, `","body":{"stringValue":`...)
	buf = appendString(buf, r.Message, c.enc.maxValueLen)
	buf = append(buf, '}')

	var arr [24]slog.Attr
	attrs := arr[:0]
	var recErr error
	r.Attrs(func(a slog.Attr) bool {
		attrs, recErr = collectAttr(attrs, a, recErr)
		return true
	})

	mark := len(buf)
	buf = append(buf, `,"attributes":[`...)
	start := len(buf)
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
	if len(buf) == start {
		buf = buf[:mark]
	} else {
		buf = closeList(buf)
	}

	if ctx != nil {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			// Any valid span context correlates, sampled or not.
			tid, sid := sc.TraceID(), sc.SpanID()
			buf = append(buf, `,"traceId":`...)
			buf = appendHex(buf, tid[:])
			buf = append(buf, `,"spanId":`...)
			buf = appendHex(buf, sid[:])
			buf = append(buf, `,"flags":`...)
			buf = strconv.AppendUint(buf, uint64(sc.TraceFlags()), 10)
		}
	}
	return append(buf, '}')
}

// appendGroup appends the bound attributes of group frame i, then either the
// record's attributes (innermost frame) or the next group, which is left out
// when it ends up empty.
func (h *Handler) appendGroup(buf []byte, i int, attrs []slog.Attr) []byte {
	lv := &h.groups[i]
	if i == len(h.groups)-1 {
		buf = lv.appendBound(buf, attrs)
		return h.c.enc.appendAttrs(buf, attrs, i)
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
	mark := len(buf)
	buf = appendKey(buf, h.groups[i+1].name)
	buf = append(buf, `{"kvlistValue":{"values":[`...)
	start := len(buf)
	buf = h.appendGroup(buf, i+1, attrs)
	if len(buf) == start {
		return append(buf[:mark], held...)
	}
	buf = closeList(buf)
	return append(buf, "}}},"...)
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

package slogotlp

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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

// maxDepth bounds how deep nested groups, slices and maps are encoded, so a
// cyclic value cannot recurse forever. Deeper values become "!DEPTH".
const maxDepth = 16

// defaultAttributeCountLimit is the OpenTelemetry default for
// OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT.
const defaultAttributeCountLimit = 128

// encoder holds the per-handler settings of the record mapping. It is
// shared, read-only, by every handler derived from one NewHandler call.
type encoder struct {
	maxValueLen int // bytes of any string value and of the message; 0: no limit
	// valueLenLimit is the attribute value length limit: characters of a
	// string, bytes of a bytes value; 0: no limit. The message is exempt.
	valueLenLimit int
	countLimit    int // top-level attributes a record keeps; < 0: no limit
	trimPath      func(string) string
	replace       func([]string, slog.Attr) slog.Attr
	fromCtx       []func(context.Context) []slog.Attr
	logfire       bool
}

// newEncoder resolves the record mapping's options (o has its defaults).
func newEncoder(o *HandlerOptions) encoder {
	e := encoder{
		maxValueLen:   max(o.MaxValueLen, 0),
		valueLenLimit: max(o.AttributeValueLengthLimit, 0),
		countLimit:    o.AttributeCountLimit,
		trimPath:      o.TrimPaths,
		replace:       o.ReplaceAttr,
		fromCtx:       slices.Clone(o.AttrFromContext),
		logfire:       o.LogfireAttributes,
	}
	if e.countLimit == 0 {
		e.countLimit = defaultAttributeCountLimit
	}
	return e
}

// isEmptyAttr reports whether a is the zero Attr, which slog handlers ignore.
// (Attr.Equal is not used: it panics on values of uncomparable types.)
func isEmptyAttr(a slog.Attr) bool {
	return a.Key == "" && a.Value.Kind() == slog.KindAny && a.Value.Any() == nil
}

// direct is what the attributes a caller passes directly (to a log call, to
// With, or through AttrFromContext; not inside a group value) say about the
// record besides themselves: its exception and its event name.
type direct struct {
	err   error  // the last error value
	event string // the last string EventNameKey value
}

// collect appends attrs to dst in the form the encoder writes them (see
// prepare), groups with an empty key inlined.
func (e *encoder) collect(dst, attrs []slog.Attr, rs *replaceScratch, d *direct) []slog.Attr {
	for _, a := range attrs {
		dst = e.collectAttr(dst, a, rs, d)
	}
	return dst
}

// collectAttr is collect for one attribute.
func (e *encoder) collectAttr(dst []slog.Attr, a slog.Attr, rs *replaceScratch, d *direct) []slog.Attr {
	a, ok := e.prepare(a, rs, d)
	switch {
	case !ok:
		return dst
	case a.Key == "" && a.Value.Kind() == slog.KindGroup:
		return e.collect(dst, a.Value.Group(), rs, d)
	}
	return append(dst, a)
}

// prepare readies one attribute for encoding and reports whether to keep
// it: its value resolved; empty attrs and empty groups dropped. With rs set,
// a non-group attribute first passes through ReplaceAttr as slog.JSONHandler
// passes it, with the names of the groups that hold it (rs.groups) and its
// value resolved, and a group's members do too, here, depth first and in
// order, so that encoding calls ReplaceAttr no more. With d set, a is one of
// the caller's direct attributes: d notes the last error value and
// consumes the event name. A group with an empty key comes back as it is,
// for the caller to inline.
func (e *encoder) prepare(a slog.Attr, rs *replaceScratch, d *direct) (slog.Attr, bool) {
	a.Value = a.Value.Resolve()
	if rs != nil && a.Value.Kind() != slog.KindGroup {
		a = e.replace(rs.groups, a)
		a.Value = a.Value.Resolve()
	}
	if isEmptyAttr(a) {
		return a, false
	}
	// Compare keys as they will be written, so two keys that differ only in
	// invalid bytes are duplicates too.
	a.Key = validUTF8(a.Key)
	switch a.Value.Kind() {
	case slog.KindGroup:
		if len(a.Value.Group()) == 0 {
			return a, false
		}
		if a.Key != "" && rs != nil {
			v, ok := e.replaceGroup(a.Key, a.Value.Group(), rs)
			if !ok {
				return a, false // ReplaceAttr left nothing in it
			}
			a.Value = v
		}
	case slog.KindString:
		if d != nil && a.Key == EventNameKey {
			d.event = a.Value.String()
			return a, false
		}
	case slog.KindAny:
		if d != nil {
			if err, ok := a.Value.Any().(error); ok && err != nil {
				d.err = err
			}
		}
	}
	return a, true
}

// replaceScratch is the state of applying ReplaceAttr to one record (or one
// WithAttrs call): the names of the open groups, the members of the groups
// being collected (a stack: a group's members sit above its parent's), and
// the final storage of the groups whose members ReplaceAttr rewrote.
// Records take theirs from a pool, so ReplaceAttr costs no allocation once
// the pool is warm.
type replaceScratch struct {
	groups []string
	stack  []slog.Attr
	attrs  []slog.Attr
}

var scratchPool = sync.Pool{New: func() any {
	return &replaceScratch{groups: make([]string, 0, 8), stack: make([]slog.Attr, 0, 32), attrs: make([]slog.Attr, 0, 32)}
}}

func getScratch() *replaceScratch { return scratchPool.Get().(*replaceScratch) }

func putScratch(rs *replaceScratch) {
	clear(rs.attrs) // the pool must not keep the caller's values alive
	clear(rs.stack[:cap(rs.stack)])
	rs.groups, rs.stack, rs.attrs = rs.groups[:0], rs.stack[:0], rs.attrs[:0]
	scratchPool.Put(rs)
}

// replaceGroup collects the members of group key through ReplaceAttr and
// returns them as the group's new value, false when none is left. Past
// maxDepth the group becomes "!DEPTH", as encoding would show it.
//
// The members are collected on rs.stack, not in a local array: prepare and
// this function call each other, and escape analysis would move such an
// array to the heap.
func (e *encoder) replaceGroup(key string, g []slog.Attr, rs *replaceScratch) (slog.Value, bool) {
	if len(rs.groups) >= maxDepth {
		return slog.StringValue("!DEPTH"), true
	}
	rs.groups = append(rs.groups, key)
	base := len(rs.stack)
	e.stackMembers(g, rs)
	rs.groups = rs.groups[:len(rs.groups)-1]
	members := rs.stack[base:]
	if len(members) == 0 {
		return slog.Value{}, false
	}
	start := len(rs.attrs)
	rs.attrs = append(rs.attrs, members...)
	rs.stack = rs.stack[:base]
	// No member is an empty group (collect dropped those), so GroupValue
	// keeps this slice as it is, without copying it. rs.attrs only grows
	// while the record is encoded, so the slice stays as written.
	return slog.GroupValue(rs.attrs[start:len(rs.attrs):len(rs.attrs)]...), true
}

// stackMembers prepares the members of a group onto rs.stack, inlining
// groups with an empty key. A member group collects its own members above
// these and takes them off again.
func (e *encoder) stackMembers(g []slog.Attr, rs *replaceScratch) {
	for _, m := range g {
		m, ok := e.prepare(m, rs, nil)
		switch {
		case !ok:
		case m.Key == "" && m.Value.Kind() == slog.KindGroup:
			e.stackMembers(m.Value.Group(), rs)
		default:
			rs.stack = append(rs.stack, m)
		}
	}
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
		return e.appendStr(buf, v.String()), true
	case slog.KindInt64:
		return appendIntValue(buf, v.Int64()), true
	case slog.KindUint64:
		if u := v.Uint64(); u > math.MaxInt64 {
			// OTLP has no unsigned integer: rather than wrap to a negative
			// number, keep the exact decimal digits as a string.
			return e.appendShort(buf, v), true
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
		return e.appendShort(buf, v), true
	case slog.KindGroup:
		if depth >= maxDepth {
			return e.appendDepthExceeded(buf), true
		}
		var arr [16]slog.Attr
		attrs := e.collect(arr[:0], v.Group(), nil, nil)
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

// appendStr appends an attribute's string value, cut to the attribute value
// length limit (characters, no marker) and then to MaxValueLen (bytes,
// ending in "…").
func (e *encoder) appendStr(buf []byte, s string) []byte {
	return appendStringField(buf, tagString, runePrefix(s, e.valueLenLimit), e.maxValueLen)
}

// appendShort appends the string form of a time (RFC 3339 with nanoseconds)
// or of a uint64 above MaxInt64 (its exact digits), formatted in place. The
// text is ASCII, so the limits cut it by bytes.
func (e *encoder) appendShort(buf []byte, v slog.Value) []byte {
	buf, start := openLen(buf, tagString)
	if v.Kind() == slog.KindTime {
		buf = v.Time().AppendFormat(buf, time.RFC3339Nano)
	} else {
		buf = strconv.AppendUint(buf, v.Uint64(), 10)
	}
	if l := e.valueLenLimit; l > 0 && len(buf)-start > l {
		buf = buf[:start+l]
	}
	if l := e.maxValueLen; l > 0 && len(buf)-start > l {
		n, mark := cutPoint(buf[start:], l)
		buf = buf[:start+n]
		if mark {
			buf = append(buf, ellipsis...)
		}
	}
	return closeLen(buf, start)
}

// appendBytes appends a bytesValue, cut to the attribute value length limit.
func (e *encoder) appendBytes(buf, b []byte) []byte {
	if l := e.valueLenLimit; l > 0 && len(b) > l {
		b = b[:l]
	}
	return appendBytesField(buf, tagBytes, b)
}

func appendIntValue(buf []byte, n int64) []byte {
	buf = append(buf, tagInt)
	return appendVarint(buf, uint64(n))
}

func (e *encoder) appendDepthExceeded(buf []byte) []byte {
	return appendStringField(buf, tagString, "!DEPTH", 0)
}

// appendAny encodes a KindAny value: []byte and other byte slices and
// arrays as bytesValue, json.RawMessage holding valid JSON as its text, an
// error as its message, slices and arrays as arrayValue, maps with string
// keys as kvlistValue (sorted by key, so output is stable), a pointer as the
// value it points to (nil: an empty value), anything else as the string
// fmt's %+v gives. A panic in the value's own methods is recovered and
// shown as "!PANIC: ..." instead of crashing the caller.
func (e *encoder) appendAny(buf []byte, x any, depth int) (out []byte) {
	mark := len(buf)
	defer func() {
		if r := recover(); r != nil {
			out = e.appendStr(buf[:mark], fmt.Sprintf("!PANIC: %v", r))
		}
	}()
	if depth >= maxDepth {
		return e.appendDepthExceeded(buf)
	}
	rv := reflect.ValueOf(x)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			// Before any method: a nil pointer is "no value", and most
			// methods would panic on it.
			return buf
		}
		if !pointerOwnMethod(x, rv) {
			// The value pointed to, as if logged itself: a *time.Time is
			// a time, a *[]byte bytes.
			return e.appendElem(buf, rv.Elem(), depth+1)
		}
	}
	switch x := x.(type) {
	case nil:
		return buf
	case []byte:
		return e.appendBytes(buf, x)
	case json.RawMessage:
		if json.Valid(x) && utf8.Valid(x) {
			// JSON text reads as what it is; base64 of it would not.
			return e.appendStr(buf, string(x))
		}
		return e.appendBytes(buf, x)
	case *slog.Source:
		return e.appendSourceValue(buf, x)
	case error:
		return e.appendStr(buf, x.Error())
	case fmt.Stringer:
		return e.appendStr(buf, x.String())
	}
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return e.appendByteList(buf, rv)
		}
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
	return e.appendStr(buf, fmt.Sprintf("%+v", x))
}

var (
	errorIface    = reflect.TypeFor[error]()
	stringerIface = reflect.TypeFor[fmt.Stringer]()
)

// pointerOwnMethod reports whether the non-nil pointer x shows itself
// through a method its element type lacks (Error or String on the pointer
// receiver, or a *slog.Source): then x is shown by that method, else as
// the value it points to.
func pointerOwnMethod(x any, rv reflect.Value) bool {
	et := rv.Type().Elem()
	switch x.(type) {
	case *slog.Source:
		return true
	case error:
		return !et.Implements(errorIface)
	case fmt.Stringer:
		return !et.Implements(stringerIface)
	}
	return false
}

// appendByteList appends a slice or array of a byte type (a named one such
// as json.RawMessage, or [N]byte) as a bytesValue.
func (e *encoder) appendByteList(buf []byte, rv reflect.Value) []byte {
	n := rv.Len()
	if l := e.valueLenLimit; l > 0 && n > l {
		n = l
	}
	buf = append(buf, tagBytes)
	buf = appendVarint(buf, uint64(n))
	if rv.Kind() == reflect.Slice {
		return append(buf, rv.Bytes()[:n]...)
	}
	for i := range n {
		buf = append(buf, byte(rv.Index(i).Uint()))
	}
	return buf
}

// appendSourceValue appends a *slog.Source as slog.JSONHandler shows it: a
// kvlistValue of its non-empty function, file and line.
func (e *encoder) appendSourceValue(buf []byte, s *slog.Source) []byte {
	buf, lstart := openLen(buf, tagKvlist)
	if s.Function != "" {
		buf = e.appendStringKV(buf, tagListValue, "function", s.Function)
	}
	if s.File != "" {
		buf = e.appendStringKV(buf, tagListValue, "file", s.File)
	}
	if s.Line != 0 {
		buf = appendIntAttr(buf, tagListValue, "line", int64(s.Line))
	}
	return closeLen(buf, lstart)
}

// appendStringKV appends one KeyValue element (field tag) with a string
// value, under the attribute value limits.
func (e *encoder) appendStringKV(buf []byte, tag byte, key, val string) []byte {
	buf, start := openLen(buf, tag)
	buf = appendStringField(buf, tagKey, key, 0)
	buf, vstart := openLen(buf, tagValue)
	buf = e.appendStr(buf, val)
	buf = closeLen(buf, vstart)
	return closeLen(buf, start)
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

	// The first group is one more attribute: a KeyValue whose value is a
	// kvlist holding the inner frames. When it is not empty it replaces the
	// attribute of its name written before it.
	mark := len(buf)
	buf, kstart := openLen(buf, tagAttribute)
	buf = appendStringField(buf, tagKey, t.group, 0)
	buf, vstart := openLen(buf, tagValue)
	buf, lstart := openLen(buf, tagKvlist)
	buf = h.appendGroup(buf, 1, attrs)
	if len(buf) == lstart {
		return buf[:mark]
	}
	buf = closeLen(buf, lstart)
	buf = closeLen(buf, vstart)
	buf = closeLen(buf, kstart)
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
